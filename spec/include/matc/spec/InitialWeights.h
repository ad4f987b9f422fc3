#ifndef MATC_SPEC_INITIALWEIGHTS_H
#define MATC_SPEC_INITIALWEIGHTS_H

// Deterministic random weights: what `matc init` writes and what `OUT train`
// starts from without --init. Shared so that both give the same numbers.

#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"
#include "matc/spec/Safetensors.h"

#include <cstdint>
#include <string>
#include <vector>

namespace matc::spec {

// Fills values[0, count) (count = the product of `shape`) with the initial
// value of the tensor called `name`: a norm (one dimension) is all ones, a
// matrix is drawn from N(0, 0.02). The stream depends only on the seed and
// the name, so a tensor's values do not change when others are added.
void fillInitialTensor(const std::string &name,
                       const std::vector<int64_t> &shape, uint64_t seed,
                       float *values);

// Writes every tensor the spec's checkpoint holds, filled as above. The same
// seed gives the same bytes.
bool writeInitialWeights(const ModelSpec &spec, const std::string &path,
                         uint64_t seed, DType dtype, Diagnostics &diags);

} // namespace matc::spec

#endif // MATC_SPEC_INITIALWEIGHTS_H

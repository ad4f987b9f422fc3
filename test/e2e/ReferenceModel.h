//===- ReferenceModel.h - Double-precision MatFormer reference ------------===//
//
// The independent numerical reference the end-to-end tests judge compiled
// programs against (docs/REFERENCE.md, Numerics): a Hugging Face Llama
// forward pass of one Mix'n'Match submodel, written as plain loops in double
// precision for clarity, not speed. It shares nothing with the compiler but
// the spec library (spec, MIX and safetensors header parsing).
//
//===----------------------------------------------------------------------===//

#ifndef MATC_TEST_E2E_REFERENCEMODEL_H
#define MATC_TEST_E2E_REFERENCEMODEL_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matc/spec/ModelSpec.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace matc::reference {

// One checkpoint tensor converted to double, row-major ([out, in] for
// weights, as stored).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
  double at(int64_t row, int64_t col) const { return data[row * cols() + col]; }
  double &at(int64_t row, int64_t col) { return data[row * cols() + col]; }
};

// The tensors a spec expects (spec::expectedTensors), in that order.
struct Checkpoint {
  std::vector<std::string> order;
  std::map<std::string, Tensor> tensors;

  const Tensor &get(const std::string &name) const;
  Tensor &get(const std::string &name);
};

// Reads a safetensors file (F32, BF16 or F16 tensors) and converts every
// tensor the spec expects to double. Missing tensors and wrong shapes are
// errors naming the tensor; tensors the spec does not use are warnings.
bool loadCheckpoint(const std::string &path, const spec::ModelSpec &spec,
                    Checkpoint &checkpoint, spec::Diagnostics &diags);

// IEEE half precision to double (exact).
double halfToDouble(uint16_t bits);

// Hugging Face tensor names, "model.layers.<i>.<suffix>".
std::string layerTensor(int64_t layer, const std::string &suffix);

// The logits [tokens.size(), vocab] of the submodel `mix` (one choice per
// spec layer), row-major. Tokens must lie in [0, vocab) and `mix` must fit
// the checkpoint (parseMix and loadCheckpoint guarantee both).
std::vector<double> forwardLogits(const spec::ModelSpec &spec,
                                  const Checkpoint &checkpoint,
                                  const spec::Mix &mix,
                                  const std::vector<int64_t> &tokens);

} // namespace matc::reference

#endif // MATC_TEST_E2E_REFERENCEMODEL_H

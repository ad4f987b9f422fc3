//===- InitWeights.h - `matc init`: deterministic random weights -*- C++ -*-===//
#ifndef MATC_TOOLS_INITWEIGHTS_H
#define MATC_TOOLS_INITWEIGHTS_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"
#include "matc/spec/Safetensors.h"

#include <cstdint>
#include <string>

namespace matc {

/// Writes every tensor the spec's checkpoint holds: matrices drawn from
/// N(0, 0.02), norms set to 1. The same seed gives the same bytes, and each
/// tensor's stream depends only on the seed and its name.
bool writeInitialWeights(const spec::ModelSpec &spec, const std::string &path,
                         uint64_t seed, spec::DType dtype,
                         spec::Diagnostics &diags);

} // namespace matc

#endif

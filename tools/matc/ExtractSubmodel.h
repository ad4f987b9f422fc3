//===- ExtractSubmodel.h - `matc extract`: slice a submodel out -*- C++ -*-===//
#ifndef MATC_TOOLS_EXTRACTSUBMODEL_H
#define MATC_TOOLS_EXTRACTSUBMODEL_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"

#include <string>

namespace matc {

/// Writes `outputDir/model.safetensors` with exactly the weights the MIX
/// uses (gate/up rows and down columns [0, w), skipped layers removed and
/// the rest renumbered) and `outputDir/config.json`, the submodel's spec with
/// `intermediate_size` as a per-layer list: the form Gemma 3n and llama.cpp
/// use, and one `matc compile` accepts directly.
bool extractSubmodel(const spec::ModelSpec &spec, const std::string &weightsPath,
                     const std::string &mixText, const std::string &outputDir,
                     spec::Diagnostics &diags);

} // namespace matc

#endif

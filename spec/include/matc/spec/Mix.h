#ifndef MATC_SPEC_MIX_H
#define MATC_SPEC_MIX_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace matc::spec {

// What one layer runs in a Mix'n'Match submodel.
struct LayerChoice {
  bool skip = false; // the whole layer (attention and FFN) is removed
  int64_t width = 0; // FFN hidden neurons used; 0 removes the FFN
};

inline bool operator==(const LayerChoice &a, const LayerChoice &b) {
  return a.skip == b.skip && a.width == b.width;
}
inline bool operator!=(const LayerChoice &a, const LayerChoice &b) {
  return !(a == b);
}

// One choice per layer of the spec, skipped layers included.
using Mix = std::vector<LayerChoice>;

// Resolves MIX text (docs/REFERENCE.md, Mix'n'Match syntax): one token for
// all layers, a comma list with one token per layer, `@file.json`, or inline
// MatFormer Lab JSON `{"ffn_hidden_dims": [...], "layers_to_skip": [...]}`.
// `granularities` may be empty (unknown); `layerMaxWidth` gives each layer's
// largest valid width (d_ff everywhere for a universal model).
std::optional<Mix> parseMix(const std::string &mixText, int64_t numLayers,
                            const std::vector<int64_t> &granularities,
                            const std::vector<int64_t> &layerMaxWidth,
                            Diagnostics &diags);
// Empty `mixText` means the spec's default mix.
std::optional<Mix> parseMix(const std::string &mixText, const ModelSpec &spec,
                            Diagnostics &diags);

// Canonical comma list of widths and `skip`, e.g. "64,128,0,skip", which
// parseMix reads back to the same Mix.
std::string formatMix(const Mix &mix);

} // namespace matc::spec

#endif // MATC_SPEC_MIX_H

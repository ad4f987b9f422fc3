#ifndef MATRT_MANIFEST_H
#define MATRT_MANIFEST_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matc/spec/ModelSpec.h"
#include "matc/spec/Safetensors.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace matrt {

// One entry of the manifest's "weights": the forward function receives a data
// pointer per entry, in this order.
struct WeightSlot {
  std::string name;
  std::vector<int64_t> shape; // the full universal shape
};

// float[layers][maxPositions][kvHeads][headDim], once for K and once for V.
struct KvCacheShape {
  int64_t layers = 0;
  int64_t maxPositions = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  int64_t numElements() const {
    return layers * maxPositions * kvHeads * headDim;
  }
};

// What the generated object says about itself (matc_model_manifest), e.g.
//   {"matc_abi": 2, "config": {...HF config...}, "mix": "32,64,skip,256",
//    "weight_dtype": "F32", "weights": [{"name": ..., "shape": [...]}, ...],
//    "kv_cache": {"layers": 3, "max_positions": 256, "kv_heads": 2,
//                 "head_dim": 16},
//    "vocab_size": 256, "max_positions": 256}
// An elastic binary (matc compile --elastic) says "mix": "elastic" and
// "elastic": true; it takes every universal weight and its kv_cache has one
// slot per layer of the spec, where a static binary's has one per kept layer.
struct Manifest {
  matc::spec::ModelSpec spec;
  // "mix" exactly as written; "elastic" for a binary that runs any mix.
  std::string mixText;
  // Widths are run-time values: any mix runs, chosen per forward call.
  bool elastic = false;
  // The compiled mix, resolved against `spec`; for an elastic binary the
  // spec's default mix.
  matc::spec::Mix mix;
  matc::spec::DType weightDtype = matc::spec::DType::F32;
  std::vector<WeightSlot> weights;
  KvCacheShape kvCache;
  int64_t vocabSize = 0;
  int64_t maxPositions = 0;
};

// Parses and cross-checks a manifest. Errors mean the binary itself is broken
// (a compiler bug or a mismatched runtime), so they say "compiled model".
std::optional<Manifest> parseManifest(const std::string &text,
                                      matc::spec::Diagnostics &diags);

} // namespace matrt

#endif // MATRT_MANIFEST_H

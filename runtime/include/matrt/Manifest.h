#ifndef MATRT_MANIFEST_H
#define MATRT_MANIFEST_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matc/spec/ModelSpec.h"
#include "matc/spec/Safetensors.h"

#include <cstdint>
#include <map>
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

// One entry of the manifest's "buffers": memory the runtime owns and passes
// to the forward function as the argument of the same name
// (matc::abi::kForwardArgs). The layout behind the shape is the generated
// code's business; the runtime allocates the element count and checks it.
struct BufferSpec {
  std::string dtype; // the argument's element type: "i32", "f32", "i64"
  std::vector<int64_t> shape;
  // Fits in int64_t: parseManifest bounds it by kMaxBufferElements.
  int64_t numElements() const {
    int64_t count = 1;
    for (int64_t dim : shape)
      count *= dim;
    return count;
  }
};

// The most elements parseManifest accepts in one buffer (2^40, 4 TiB of
// floats): anything larger is a broken manifest, refused before any
// allocation or overflowing multiplication.
inline constexpr int64_t kMaxBufferElements = int64_t(1) << 40;

// What the generated object says about itself (matc_model_manifest), e.g.
//   {"matc_abi": 3, "config": {...HF config...}, "mix": "32,64,skip,256",
//    "elastic": false, "weight_dtype": "F32",
//    "weights": [{"name": ..., "shape": [...]}, ...],
//    "buffers": {"tokens": {"dtype": "i32", "shape": [P]},
//                "logits": {"dtype": "f32", "shape": [P, V]},
//                "k_cache": {"dtype": "f32", "shape": [L, P, KV, D]},
//                "v_cache": {"dtype": "f32", "shape": [L, KV, D, P]},
//                "layer_widths": {"dtype": "i64", "shape": [N]}},
//    "vocab_size": V, "max_positions": P}
// "buffers" has exactly the buffer arguments of matc::abi::kForwardArgs.
// tokens is [max_positions], logits [max_positions, vocab_size] (the most
// rows one call can ask for), layer_widths [num_hidden_layers]. Each cache
// holds L x max_positions x num_key_value_heads x head_dim elements in a
// layout of the generated code's choosing; L counts the layers that own a
// cache slot.
// A binary compiled with --train says "train": true (absent means false) and
// exports the training entry points of matc/abi/ModelAbi.h.
// An elastic binary (matc compile --elastic) says "mix": "elastic" and
// "elastic": true; it takes every universal weight and its caches have one
// slot per layer of the spec, where a static binary's have one per kept
// layer (possibly none).
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
  // Compiled with --train ("train": true).
  bool train = false;
  std::vector<WeightSlot> weights;
  // By argument name: tokens, logits, k_cache, v_cache, layer_widths.
  std::map<std::string, BufferSpec> buffers;
  int64_t vocabSize = 0;
  int64_t maxPositions = 0;

  // The buffer called `name`; an empty spec if there is none (which a
  // parsed manifest never lacks).
  const BufferSpec &buffer(const std::string &name) const;
};

// Parses and cross-checks a manifest. Errors mean the binary itself is broken
// (a compiler bug or a mismatched runtime), so they say "compiled model".
std::optional<Manifest> parseManifest(const std::string &text,
                                      matc::spec::Diagnostics &diags);

} // namespace matrt

#endif // MATRT_MANIFEST_H

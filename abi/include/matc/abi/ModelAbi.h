//===- ModelAbi.h - the contract between generated code and matrt -*- C++ -*-===//
//
// One header, with no MLIR or LLVM in it, read by both sides: the compiler
// builds the entry point and the manifest from these tables
// (codegen/lib/RuntimeAbi.cpp), the runtime calls the entry point and finds
// its buffers by the names below (runtime/lib/Manifest.cpp). Changing
// anything here changes kVersion.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_ABI_MODELABI_H
#define MATC_ABI_MODELABI_H

#include <cstddef>
#include <cstdint>

namespace matc::abi {

/// The manifest's "matc_abi". History: 2 added layer_widths; 3 added
/// num_logits (the LM head runs on the last num_logits rows only) and the
/// manifest's "buffers" table.
inline constexpr int64_t kVersion = 3;

/// The symbols a compiled model exports.
inline constexpr const char *kForwardSymbol = "matc_model_forward";
inline constexpr const char *kManifestSymbol = "matc_model_manifest";

/// layer_widths' entry for a layer that is skipped whole.
inline constexpr int64_t kSkippedLayerWidth = -1;

/// What an entry-point argument is: a scalar, a buffer the runtime owns and
/// the manifest describes under `name`, or the table of weight pointers.
enum class ArgKind { Index, Buffer, WeightTable };

struct Arg {
  const char *name;
  ArgKind kind;
  /// Element type of a buffer ("i32", "f32", "i64"); null otherwise.
  const char *elementType;
};

/// The entry point's arguments, in order:
///   void matc_model_forward(int64_t num_tokens, int64_t start_pos,
///                           int64_t num_logits, const int32_t *tokens,
///                           float *logits, float *k_cache, float *v_cache,
///                           const int64_t *layer_widths,
///                           void *const *weights);
/// Runs tokens[0, num_tokens) at positions [start_pos, start_pos +
/// num_tokens): writes their K/V into the caches at those positions, attends
/// causally over [0, start_pos + num_tokens), and writes the logits of the
/// last num_logits of them to logits[num_logits][vocab].
///
/// `layer_widths` has one entry per layer of the universal model: the FFN
/// width in [0, that layer's d_ff], or kSkippedLayerWidth. A binary compiled
/// for one mix ignores it; an elastic one runs the mix it describes.
/// The generated code checks nothing: the runtime guarantees
/// 1 <= num_logits <= num_tokens, start_pos + num_tokens <= max_positions,
/// every token in [0, vocab) and every width in range.
inline constexpr Arg kForwardArgs[] = {
    {"num_tokens", ArgKind::Index, nullptr},
    {"start_pos", ArgKind::Index, nullptr},
    {"num_logits", ArgKind::Index, nullptr},
    {"tokens", ArgKind::Buffer, "i32"},
    {"logits", ArgKind::Buffer, "f32"},
    {"k_cache", ArgKind::Buffer, "f32"},
    {"v_cache", ArgKind::Buffer, "f32"},
    {"layer_widths", ArgKind::Buffer, "i64"},
    {"weights", ArgKind::WeightTable, nullptr},
};
inline constexpr std::size_t kNumForwardArgs =
    sizeof(kForwardArgs) / sizeof(kForwardArgs[0]);

/// Position of the argument called `name` in kForwardArgs, or kNumForwardArgs.
constexpr std::size_t forwardArgIndex(const char *name) {
  for (std::size_t i = 0; i < kNumForwardArgs; ++i) {
    const char *a = kForwardArgs[i].name, *b = name;
    while (*a && *a == *b)
      ++a, ++b;
    if (*a == *b)
      return i;
  }
  return kNumForwardArgs;
}

using ForwardFn = void (*)(int64_t numTokens, int64_t startPos,
                           int64_t numLogits, const int32_t *tokens,
                           float *logits, float *kCache, float *vCache,
                           const int64_t *layerWidths, void *const *weights);

} // namespace matc::abi

#endif // MATC_ABI_MODELABI_H

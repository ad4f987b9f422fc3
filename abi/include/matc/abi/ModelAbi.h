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
/// manifest's "buffers" table. 4 (not yet: it becomes 4 when both sides of
/// the training entry points below have landed) adds matc_model_loss to
/// every binary and the training entry points.
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

//===----------------------------------------------------------------------===//
// Training (`matc compile --train`)
//===----------------------------------------------------------------------===//
//
// Every binary (ABI 4) exports matc_model_loss, which `eval` uses; a binary
// compiled with --train also exports the other three, and its manifest has
// "train": true. Every table below (weights, grads, m, v)
// has one f32 pointer per entry of the manifest's "weights", in that order and
// with those shapes; only f32 weights train.
//
// Granularity i (0 <= i < G, G = the spec's matformer.granularities count)
// runs every layer's FFN at the width granularities[i] (clamped to that
// layer's d_ff); no layer is skipped.

inline constexpr const char *kTrainStepSymbol = "matc_model_train_step";
inline constexpr const char *kLossSymbol = "matc_model_loss";
inline constexpr const char *kGradSquaredNormSymbol =
    "matc_model_grad_squared_norm";
inline constexpr const char *kAdamWStepSymbol = "matc_model_adamw_step";

/// void matc_model_train_step(int64_t seq_len, const int32_t *tokens,
///                            const float *loss_weights, float *losses,
///                            void *const *weights, void *const *grads);
/// One sequence: inputs tokens[0, seq_len) at positions [0, seq_len), targets
/// tokens[1, seq_len + 1). For every granularity i with loss_weights[i] != 0:
///   L_i = mean over t < seq_len of -log softmax(logits_i[t])[tokens[t + 1]]
///   losses[i] = L_i
///   grads[w] += loss_weights[i] * dL_i / dw   for every weight w
/// Granularities with loss_weights[i] == 0 are not run and leave losses[i] as
/// it was. The joint loss of `--sampling all` is loss_weights = lambda / B
/// for a batch of B sequences; one sampled granularity is a one-hot vector
/// times 1 / B. The runtime guarantees 1 <= seq_len <= max_positions and
/// every token in [0, vocab).
using TrainStepFn = void (*)(int64_t seqLen, const int32_t *tokens,
                             const float *lossWeights, float *losses,
                             void *const *weights, void *const *grads);

/// void matc_model_loss(int64_t num_tokens, const int32_t *tokens,
///                      float *loss, float *k_cache, float *v_cache,
///                      const int64_t *layer_widths, void *const *weights);
/// loss[0] = sum over t < num_tokens of -log softmax(logits[t])[tokens[t+1]]
/// for the forward pass of tokens[0, num_tokens) from position 0 at the mix
/// that layer_widths describes (as for matc_model_forward; the caches are
/// scratch). `eval` uses it, so evaluation and training share the loss code.
using LossFn = void (*)(int64_t numTokens, const int32_t *tokens, float *loss,
                        float *kCache, float *vCache,
                        const int64_t *layerWidths, void *const *weights);

/// void matc_model_grad_squared_norm(void *const *grads, float *result);
/// result[0] = sum of the squares of every element of every gradient tensor
/// (the runtime clips by global norm with it).
using GradSquaredNormFn = void (*)(void *const *grads, float *result);

/// The scalars of one AdamW step, in the order of `hyper` below.
enum AdamWHyper : int {
  kAdamLearningRate,   // lr of this step (the runtime applies the schedule)
  kAdamBeta1,
  kAdamBeta2,
  kAdamEpsilon,
  kAdamWeightDecay,    // decoupled: w -= lr * weight_decay * decay[i] * w
  kAdamBiasCorrection1, // 1 - beta1^step (step counts from 1)
  kAdamBiasCorrection2, // 1 - beta2^step
  kAdamGradScale,      // every gradient is multiplied by this first (clipping)
  kNumAdamWHyper
};

/// void matc_model_adamw_step(const float *hyper, const float *decay,
///                            void *const *weights, void *const *grads,
///                            void *const *m, void *const *v);
/// For every weight tensor i and element j, with g = grads[i][j] * GradScale:
///   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
///   w -= lr * ((m / BiasCorrection1) / (sqrt(v / BiasCorrection2) + eps)
///              + WeightDecay * decay[i] * w)
/// decay[i] is 1 or 0 per tensor (the runtime zeroes it for norms and
/// embeddings unless asked). grads are left as they were; the runtime
/// zeroes them before the next step.
using AdamWStepFn = void (*)(const float *hyper, const float *decay,
                             void *const *weights, void *const *grads,
                             void *const *m, void *const *v);

/// The arguments of the training entry points, in order, as kForwardArgs
/// is for matc_model_forward. A WeightTable is a table of one f32 pointer per
/// manifest weight, named after its role (weights, grads, m, v); a Buffer's
/// element type is given, its length is the one documented above.
inline constexpr Arg kLossArgs[] = {
    {"num_tokens", ArgKind::Index, nullptr},
    {"tokens", ArgKind::Buffer, "i32"},
    {"loss", ArgKind::Buffer, "f32"},
    {"k_cache", ArgKind::Buffer, "f32"},
    {"v_cache", ArgKind::Buffer, "f32"},
    {"layer_widths", ArgKind::Buffer, "i64"},
    {"weights", ArgKind::WeightTable, nullptr},
};
inline constexpr Arg kTrainStepArgs[] = {
    {"seq_len", ArgKind::Index, nullptr},
    {"tokens", ArgKind::Buffer, "i32"},
    {"loss_weights", ArgKind::Buffer, "f32"},
    {"losses", ArgKind::Buffer, "f32"},
    {"weights", ArgKind::WeightTable, nullptr},
    {"grads", ArgKind::WeightTable, nullptr},
};
inline constexpr Arg kGradSquaredNormArgs[] = {
    {"grads", ArgKind::WeightTable, nullptr},
    {"result", ArgKind::Buffer, "f32"},
};
inline constexpr Arg kAdamWStepArgs[] = {
    {"hyper", ArgKind::Buffer, "f32"},
    {"decay", ArgKind::Buffer, "f32"},
    {"weights", ArgKind::WeightTable, nullptr},
    {"grads", ArgKind::WeightTable, nullptr},
    {"m", ArgKind::WeightTable, nullptr},
    {"v", ArgKind::WeightTable, nullptr},
};

} // namespace matc::abi

#endif // MATC_ABI_MODELABI_H

#ifndef MATRT_EVALUATION_H
#define MATRT_EVALUATION_H

#include "matc/spec/Diagnostics.h"
#include "matrt/ModelRunner.h"

#include <cstdint>
#include <functional>

namespace matrt {

// Loss of next-token prediction on byte data, as `OUT eval` reports it.

// -log softmax(logits)[target] in natural log, computed in double. Only for
// binaries without the generated loss (matc_model_loss, ABI 4).
double tokenCrossEntropy(const float *logits, int64_t vocab, int32_t target);

// The validation split of byte data: its last 10%, the bytes
// [floor(0.9 * size), size). (`--split all` scores every byte.)
struct ByteRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - begin; }
};
ByteRange validationSplit(uint64_t dataSize);

// Non-overlapping windows of `seqLen` input tokens: window w runs tokens
// [w * seqLen, w * seqLen + seqLen) from position 0 and is scored on the token
// after each, so every token but the first is predicted exactly once; the
// last window may be shorter. `numTokens` tokens make numTokens - 1
// predictions in ceil((numTokens - 1) / seqLen) windows.
int64_t countEvalWindows(int64_t numTokens, int64_t seqLen);

struct EvalResult {
  int64_t tokens = 0; // predictions scored
  int64_t windows = 0;
  double totalLoss = 0; // sum of the per-token cross-entropies
  double meanLoss() const;
  double perplexity() const; // exp(meanLoss())
};

// Scores `tokens` (bytes, each below the vocabulary size) under the
// runner's current mix; seqLen must be in [1, max_positions]. With the
// binary's generated loss (ModelRunner::hasLoss) each window is one call of
// it; a binary without one (ABI 3) has its logits scored by
// tokenCrossEntropy.
// `onWindow(done, total)` follows progress.
bool evaluateLoss(
    ModelRunner &runner, const uint8_t *tokens, int64_t numTokens,
    int64_t seqLen, EvalResult &result, matc::spec::Diagnostics &diags,
    const std::function<void(int64_t, int64_t)> &onWindow = nullptr);

} // namespace matrt

#endif // MATRT_EVALUATION_H

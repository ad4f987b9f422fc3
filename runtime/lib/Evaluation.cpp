#include "matrt/Evaluation.h"

#include <algorithm>
#include <cmath>

namespace matrt {

double tokenCrossEntropy(const float *logits, int64_t vocab, int32_t target) {
  // log-sum-exp shifted by the largest logit, so exp never overflows. A NaN
  // logit makes the loss NaN, which is what the model computed.
  double largest = -INFINITY;
  for (int64_t v = 0; v < vocab; ++v)
    largest = std::max(largest, static_cast<double>(logits[v]));
  if (std::isnan(static_cast<double>(logits[target])))
    return NAN;
  if (std::isinf(largest))
    return largest > 0 ? NAN : INFINITY;
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v)
    sum += std::exp(static_cast<double>(logits[v]) - largest);
  return largest + std::log(sum) - static_cast<double>(logits[target]);
}

ByteRange validationSplit(uint64_t dataSize) {
  // size * 9 / 10 cannot overflow for any file that fits in memory.
  return ByteRange{dataSize / 10 * 9 + dataSize % 10 * 9 / 10, dataSize};
}

int64_t countEvalWindows(int64_t numTokens, int64_t seqLen) {
  if (numTokens < 2 || seqLen < 1)
    return 0;
  return (numTokens - 1 + seqLen - 1) / seqLen;
}

double EvalResult::meanLoss() const {
  return tokens > 0 ? totalLoss / static_cast<double>(tokens) : NAN;
}

double EvalResult::perplexity() const { return std::exp(meanLoss()); }

bool evaluateLoss(ModelRunner &runner, const uint8_t *tokens, int64_t numTokens,
                  int64_t seqLen, EvalResult &result,
                  matc::spec::Diagnostics &diags,
                  const std::function<void(int64_t, int64_t)> &onWindow) {
  result = EvalResult();
  if (seqLen < 1 || seqLen > runner.maxPositions()) {
    diags.error("--seq-len", std::to_string(seqLen) +
                                 ": expected 1 to the model's max_positions (" +
                                 std::to_string(runner.maxPositions()) + ")");
    return false;
  }
  int64_t windows = countEvalWindows(numTokens, seqLen);
  int64_t vocab = runner.vocabSize();
  // run() checks the inputs; the targets index the logits.
  for (int64_t i = 0; vocab < 256 && i < numTokens; ++i)
    if (tokens[i] >= vocab) {
      diags.error("", "byte " + std::to_string(i) + " is " +
                          std::to_string(tokens[i]) +
                          ", outside the vocabulary [0, " +
                          std::to_string(vocab) + ")");
      return false;
    }
  std::vector<int32_t> input;
  for (int64_t w = 0; w < windows; ++w) {
    int64_t begin = w * seqLen;
    // Inputs [begin, end), targets [begin + 1, end + 1).
    int64_t end = std::min(begin + seqLen, numTokens - 1);
    if (runner.hasLoss()) {
      // The loss code training uses (ABI 4), from the generated object.
      input.assign(tokens + begin, tokens + end + 1);
      double windowLoss = 0;
      if (!runner.sequenceLoss(input, windowLoss, diags))
        return false;
      result.totalLoss += windowLoss;
    } else {
      // Binaries of ABI 3 export no loss: score their logits here. This
      // branch and tokenCrossEntropy go once every binary has the loss.
      input.assign(tokens + begin, tokens + end);
      runner.reset();
      // Every input is scored, so every row is needed.
      if (!runner.run(input, diags, LogitRows::All))
        return false;
      for (int64_t i = 0; i < end - begin; ++i)
        result.totalLoss += tokenCrossEntropy(runner.rowLogits(i), vocab,
                                              tokens[begin + i + 1]);
    }
    result.tokens += end - begin;
    ++result.windows;
    if (onWindow)
      onWindow(w + 1, windows);
  }
  return true;
}

} // namespace matrt

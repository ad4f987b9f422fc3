#include "matrt/Benchmark.h"

#include "matrt/Sampler.h"

#include <algorithm>
#include <chrono>

namespace matrt {

using Clock = std::chrono::steady_clock;

static double rate(int64_t tokens, double seconds) {
  return seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
}

double BenchmarkResult::prefillTokensPerSecond() const {
  return rate(promptLength, prefillSeconds);
}

double BenchmarkResult::decodeTokensPerSecond() const {
  return rate(newTokens, decodeSeconds);
}

std::vector<int32_t> benchmarkPrompt(int64_t length, int64_t vocab) {
  std::vector<int32_t> tokens(static_cast<std::size_t>(length));
  // 7919 is prime, so consecutive ids walk the whole vocabulary.
  for (int64_t i = 0; i < length; ++i)
    tokens[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  return tokens;
}

namespace {

// One prefill and `decodeSteps` greedy decode calls; returns the times.
bool runOnce(ModelRunner &runner, const std::vector<int32_t> &prompt,
             int64_t decodeSteps, double &prefillSeconds, double &decodeSeconds,
             matc::spec::Diagnostics &diags) {
  Sampler greedy(SamplingOptions{});
  runner.reset();
  Clock::time_point start = Clock::now();
  if (!runner.run(prompt, diags))
    return false;
  prefillSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<int32_t> step(1);
  step[0] = greedy.sample(runner.lastRowLogits(), runner.vocabSize());
  start = Clock::now();
  for (int64_t i = 0; i < decodeSteps; ++i) {
    if (!runner.run(step, diags))
      return false;
    step[0] = greedy.sample(runner.lastRowLogits(), runner.vocabSize());
  }
  decodeSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  return true;
}

} // namespace

bool runBenchmark(ModelRunner &runner, int64_t promptLength, int64_t newTokens,
                  BenchmarkResult &result, matc::spec::Diagnostics &diags) {
  result = BenchmarkResult();
  result.promptLength = promptLength;
  result.newTokens = newTokens;
  if (promptLength < 1 || newTokens < 0 ||
      promptLength + newTokens > runner.maxPositions()) {
    diags.error("", "prompt length " + std::to_string(promptLength) +
                        " + new tokens " + std::to_string(newTokens) +
                        " must be at least 1 and at most max_positions (" +
                        std::to_string(runner.maxPositions()) + ")");
    return false;
  }
  std::vector<int32_t> prompt =
      benchmarkPrompt(promptLength, runner.vocabSize());
  double ignored;
  if (!runOnce(runner, prompt, std::min<int64_t>(newTokens, 4), ignored,
               ignored, diags))
    return false;
  return runOnce(runner, prompt, newTokens, result.prefillSeconds,
                 result.decodeSeconds, diags);
}

} // namespace matrt

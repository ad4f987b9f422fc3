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

static double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double BenchmarkResult::medianPrefillTokensPerSecond() const {
  return rate(promptLength, median(prefillRuns));
}

double BenchmarkResult::medianDecodeTokensPerSecond() const {
  return rate(newTokens, median(decodeRuns));
}

double SpeculativeBenchmarkResult::decodeTokensPerSecond() const {
  return generation.decodeTokensPerSecond();
}

double SpeculativeBenchmarkResult::tokensPerMainCall() const {
  return matrt::tokensPerMainCall(generation, stats);
}

std::vector<int32_t> benchmarkPrompt(int64_t length, int64_t vocab) {
  std::vector<int32_t> tokens(static_cast<std::size_t>(length));
  // 7919 is prime, so consecutive ids walk the whole vocabulary.
  for (int64_t i = 0; i < length; ++i)
    tokens[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  return tokens;
}

namespace {

// Warm-up runs decode at most this many tokens.
constexpr int64_t kWarmUpDecodeSteps = 4;

// One prefill and `decodeSteps` greedy decode calls; returns the times and
// the greedy tokens.
bool runOnce(ModelRunner &runner, const std::vector<int32_t> &prompt,
             int64_t decodeSteps, double &prefillSeconds, double &decodeSeconds,
             std::vector<int32_t> &tokens, matc::spec::Diagnostics &diags) {
  Sampler greedy(SamplingOptions{});
  tokens.clear();
  tokens.reserve(static_cast<std::size_t>(decodeSteps) + 1);
  runner.reset();
  Clock::time_point start = Clock::now();
  // As generate: the prefill samples from the last row only.
  if (!runner.run(prompt, diags, LogitRows::Last))
    return false;
  prefillSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<int32_t> step(1);
  step[0] = greedy.sample(runner.lastRowLogits(), runner.vocabSize());
  tokens.push_back(step[0]);
  start = Clock::now();
  for (int64_t i = 0; i < decodeSteps; ++i) {
    if (!runner.run(step, diags, LogitRows::Last))
      return false;
    step[0] = greedy.sample(runner.lastRowLogits(), runner.vocabSize());
    tokens.push_back(step[0]);
  }
  decodeSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  return true;
}

} // namespace

bool runBenchmark(ModelRunner &runner, int64_t promptLength, int64_t newTokens,
                  int64_t repeats, BenchmarkResult &result,
                  matc::spec::Diagnostics &diags) {
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
  if (repeats < 1) {
    diags.error("", "repeats must be at least 1, got " +
                        std::to_string(repeats));
    return false;
  }
  std::vector<int32_t> prompt =
      benchmarkPrompt(promptLength, runner.vocabSize());
  double ignored;
  std::vector<int32_t> tokens;
  if (!runOnce(runner, prompt, std::min(newTokens, kWarmUpDecodeSteps), ignored,
               ignored, tokens, diags))
    return false;
  for (int64_t run = 0; run < repeats; ++run) {
    double prefillSeconds, decodeSeconds;
    if (!runOnce(runner, prompt, newTokens, prefillSeconds, decodeSeconds,
                 tokens, diags))
      return false;
    if (run > 0 && tokens != result.tokens) {
      diags.error("", "timed run " + std::to_string(run + 1) +
                          " made other greedy tokens than run 1 on the same "
                          "prompt: the generated code is not deterministic");
      return false;
    }
    result.prefillRuns.push_back(prefillSeconds);
    result.decodeRuns.push_back(decodeSeconds);
    if (run == 0)
      result.tokens = tokens;
  }
  result.prefillSeconds =
      *std::min_element(result.prefillRuns.begin(), result.prefillRuns.end());
  result.decodeSeconds =
      *std::min_element(result.decodeRuns.begin(), result.decodeRuns.end());
  return true;
}

bool runSpeculativeBenchmark(ModelRunner &main, ModelRunner &draft,
                             int64_t promptLength, int64_t newTokens,
                             int64_t draftTokens,
                             SpeculativeBenchmarkResult &result,
                             matc::spec::Diagnostics &diags) {
  result = SpeculativeBenchmarkResult();
  if (promptLength < 1 || newTokens < 0 ||
      promptLength + newTokens >= main.maxPositions()) {
    diags.error("", "prompt length " + std::to_string(promptLength) +
                        " + new tokens " + std::to_string(newTokens) +
                        " must be at least 1 and below max_positions (" +
                        std::to_string(main.maxPositions()) +
                        ") for speculative decoding");
    return false;
  }
  std::vector<int32_t> prompt = benchmarkPrompt(promptLength, main.vocabSize());
  // The prefill makes one token, each decoded one more: newTokens + 1 in all,
  // as runBenchmark samples.
  GenerationOptions options; // greedy
  options.maxNewTokens = std::min(newTokens, kWarmUpDecodeSteps) + 1;
  GenerationResult warmUp;
  SpeculationStats ignored;
  if (!generateSpeculative(main, draft, prompt, options, draftTokens, warmUp,
                           ignored, diags))
    return false;
  options.maxNewTokens = newTokens + 1;
  return generateSpeculative(main, draft, prompt, options, draftTokens,
                             result.generation, result.stats, diags);
}

} // namespace matrt

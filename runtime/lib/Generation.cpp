#include "matrt/Generation.h"

#include <algorithm>
#include <chrono>

namespace matrt {

using Clock = std::chrono::steady_clock;

static double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

static double rate(int64_t tokens, double seconds) {
  return seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
}

double GenerationResult::prefillTokensPerSecond(int64_t promptLength) const {
  return rate(promptLength, prefillSeconds);
}

double GenerationResult::decodeTokensPerSecond() const {
  return rate(decodedTokens, decodeSeconds);
}

bool generate(ModelRunner &runner, const std::vector<int32_t> &prompt,
              const GenerationOptions &options, GenerationResult &result,
              matc::spec::Diagnostics &diags,
              const std::function<void(int32_t)> &onToken) {
  result = GenerationResult();
  runner.reset();
  int64_t promptLength = static_cast<int64_t>(prompt.size());
  int64_t room = std::max<int64_t>(0, runner.maxPositions() - promptLength);
  int64_t budget = std::min(options.maxNewTokens, room);
  result.stoppedAtMaxPositions = budget < options.maxNewTokens;
  if (budget == 0) {
    // Nothing will be sampled, but an overlong prompt is still an error.
    if (promptLength > runner.maxPositions())
      return runner.run(prompt, diags, LogitRows::Last);
    return true;
  }

  Sampler sampler(options.sampling);
  auto emit = [&](int32_t token) {
    result.tokens.push_back(token);
    if (onToken)
      onToken(token);
  };

  Clock::time_point start = Clock::now();
  // Only the next token is sampled: the LM head runs on the last row alone.
  if (!runner.run(prompt, diags, LogitRows::Last))
    return false;
  emit(sampler.sample(runner.lastRowLogits(), runner.vocabSize()));
  result.prefillSeconds = secondsSince(start);

  start = Clock::now();
  std::vector<int32_t> step(1);
  while (static_cast<int64_t>(result.tokens.size()) < budget) {
    step[0] = result.tokens.back();
    if (!runner.run(step, diags, LogitRows::Last))
      return false;
    ++result.decodeCalls;
    ++result.decodedTokens;
    emit(sampler.sample(runner.lastRowLogits(), runner.vocabSize()));
  }
  result.decodeSeconds = secondsSince(start);
  return true;
}

} // namespace matrt

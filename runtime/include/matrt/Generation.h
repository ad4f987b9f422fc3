#ifndef MATRT_GENERATION_H
#define MATRT_GENERATION_H

#include "matc/spec/Diagnostics.h"
#include "matrt/ModelRunner.h"
#include "matrt/Sampler.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace matrt {

struct GenerationOptions {
  int64_t maxNewTokens = 32;
  SamplingOptions sampling; // greedy by default
};

struct GenerationResult {
  std::vector<int32_t> tokens; // generated, prompt excluded
  // The sequence (prompt and generated tokens) reached max_positions before
  // maxNewTokens were generated.
  bool stoppedAtMaxPositions = false;
  // Calls of the (main) model after the prefill.
  int64_t decodeCalls = 0;
  // Tokens made after the prefill's one: decodeCalls for plain generation,
  // more per call with speculative decoding.
  int64_t decodedTokens = 0;
  double prefillSeconds = 0;
  double decodeSeconds = 0;

  double prefillTokensPerSecond(int64_t promptLength) const;
  double decodeTokensPerSecond() const;
};

// Autoregressive generation on a fresh sequence: one forward call with the
// whole prompt (prefill) samples the first new token, then one call per
// token (decode) feeds the previous token and samples the next. The sequence
// never grows past max_positions: the last token generated is never fed
// back, so at most max_positions - prompt length tokens are generated.
// `onToken` sees each token as soon as it is sampled (for streaming output).
bool generate(ModelRunner &runner, const std::vector<int32_t> &prompt,
              const GenerationOptions &options, GenerationResult &result,
              matc::spec::Diagnostics &diags,
              const std::function<void(int32_t)> &onToken = nullptr);

} // namespace matrt

#endif // MATRT_GENERATION_H

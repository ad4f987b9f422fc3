#ifndef MATRT_SPECULATIVEDECODING_H
#define MATRT_SPECULATIVEDECODING_H

#include "matc/spec/Diagnostics.h"
#include "matrt/Generation.h"
#include "matrt/ModelRunner.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace matrt {

constexpr int64_t kDefaultDraftTokens = 4;

struct SpeculationStats {
  int64_t draftedTokens = 0;  // proposed by the draft and checked by main
  int64_t acceptedTokens = 0; // of those, the ones kept
  int64_t verifyCalls = 0;    // main-model calls after the prefill
  int64_t draftCalls = 0;     // draft-model calls after its prefill
  // acceptedTokens / draftedTokens (0 when nothing was drafted).
  double acceptanceRate() const;
};

// Tokens made per main-model call after the prefill (decoded tokens over
// verify calls; 0 without any): the most speed-up the rounds allow, reached
// if a draft call cost nothing.
double tokensPerMainCall(const GenerationResult &result,
                         const SpeculationStats &stats);

// Generation with speculative decoding: a cheap draft mix proposes tokens and
// the main mix checks them, several per call. Both runners run over the same
// weights, each with its own KV cache. After both prefill the prompt, every
// round:
//   1. the draft proposes k = min(draftTokens, tokens still wanted - 1)
//      tokens, one call each (its first call also feeds whatever accepted
//      tokens it has not seen yet);
//   2. the main model runs the last accepted token and the k drafts in ONE
//      call of k + 1 tokens: row i gives its prediction after draft i, so
//      every draft is checked and the row after the last one gives a bonus
//      token;
//   3. the longest prefix of drafts the main model agrees with is accepted,
//      followed by the main model's own next token (a correction, or the
//      bonus), so each round makes between 1 and k + 1 tokens;
//   4. both runners rewind to the accepted length: cache rows past it hold
//      rejected tokens and are overwritten by later calls.
// Greedy (temperature 0): a draft is accepted when it is main's argmax, so
// the tokens equal plain greedy generation with the main runner's mix.
// Temperature > 0: standard speculative sampling (Leviathan et al. 2023,
// Chen et al. 2023): draft token d, drawn from the draft's distribution q
// (temperature and top-k applied), is accepted with probability
// min(1, p(d)/q(d)) under main's distribution p; the first rejected one is
// replaced by a draw from max(0, p - q), renormalized. The tokens are then
// distributed exactly as plain sampling from the main mix, though a seed
// gives other tokens than plain generation does.
// Shared cache (draft.shareCacheOf(main), the MatFormer paper's shared
// attention cache): the draft skips its prefill and each round starts at
// main's position, attending over main's K/V of every accepted token; its
// own rows of the round's drafts are overwritten by main's verify call,
// which writes every position it runs before attending over it, so main's
// output is unchanged (greedy: exactly plain greedy generation).
// Stops like generate(): at maxNewTokens or at max_positions. `main` and
// `draft` must be two runners, usually over the same weights.
bool generateSpeculative(ModelRunner &main, ModelRunner &draft,
                         const std::vector<int32_t> &prompt,
                         const GenerationOptions &options, int64_t draftTokens,
                         GenerationResult &result, SpeculationStats &stats,
                         matc::spec::Diagnostics &diags,
                         const std::function<void(int32_t)> &onToken = nullptr);

} // namespace matrt

#endif // MATRT_SPECULATIVEDECODING_H

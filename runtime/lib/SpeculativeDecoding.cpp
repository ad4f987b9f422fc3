#include "matrt/SpeculativeDecoding.h"

#include "matrt/Sampler.h"

#include <algorithm>
#include <chrono>

namespace matrt {

using Clock = std::chrono::steady_clock;

double SpeculationStats::acceptanceRate() const {
  return draftedTokens > 0 ? static_cast<double>(acceptedTokens) /
                                 static_cast<double>(draftedTokens)
                           : 0;
}

double tokensPerMainCall(const GenerationResult &result,
                         const SpeculationStats &stats) {
  return stats.verifyCalls > 0 ? static_cast<double>(result.decodedTokens) /
                                     static_cast<double>(stats.verifyCalls)
                               : 0;
}

namespace {

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One round's drafts and, when sampling, the distribution each was drawn
// from.
struct Drafts {
  std::vector<int32_t> tokens;
  std::vector<std::vector<double>> distributions;
};

// Step 1: the draft runner catches up with `sequence` and proposes `count`
// tokens, one call each.
bool propose(ModelRunner &draft, const std::vector<int32_t> &sequence,
             int64_t count, Sampler &sampler, Drafts &drafts,
             SpeculationStats &stats, matc::spec::Diagnostics &diags) {
  drafts = Drafts();
  std::vector<int32_t> feed(sequence.begin() + draft.position(),
                            sequence.end());
  for (int64_t i = 0; i < count; ++i) {
    // The catch-up tokens before the last need no logits.
    if (!draft.run(feed, diags, LogitRows::Last))
      return false;
    ++stats.draftCalls;
    const float *row = draft.lastRowLogits();
    int32_t token;
    if (sampler.greedy()) {
      token = Sampler::argmax(row, draft.vocabSize());
    } else {
      drafts.distributions.push_back(
          sampler.distribution(row, draft.vocabSize()));
      token = sampler.sampleFrom(drafts.distributions.back());
    }
    drafts.tokens.push_back(token);
    feed.assign(1, token);
  }
  return true;
}

// Steps 2 and 3 after the verify call: how many drafts main accepts, and
// main's own next token after them.
int64_t acceptDrafts(const ModelRunner &main, const Drafts &drafts,
                     Sampler &sampler, int32_t &next) {
  int64_t vocab = main.vocabSize();
  int64_t count = static_cast<int64_t>(drafts.tokens.size());
  for (int64_t i = 0; i < count; ++i) {
    const float *row = main.rowLogits(i);
    int32_t proposed = drafts.tokens[i];
    if (sampler.greedy()) {
      next = Sampler::argmax(row, vocab);
      if (next != proposed)
        return i;
      continue;
    }
    std::vector<double> p = sampler.distribution(row, vocab);
    const std::vector<double> &q = drafts.distributions[i];
    double ratio = q[proposed] > 0 ? p[proposed] / q[proposed]
                                   : (p[proposed] > 0 ? 1.0 : 0.0);
    if (sampler.uniform() < ratio)
      continue;
    // Rejected: draw from the part of p that q under-covers.
    std::vector<double> residual(p.size());
    double total = 0;
    for (std::size_t v = 0; v < p.size(); ++v) {
      residual[v] = std::max(0.0, p[v] - q[v]);
      total += residual[v];
    }
    // Only rounding can leave nothing (p and q equal); p itself is then right.
    next = sampler.sampleFrom(total > 0 ? residual : p);
    return i;
  }
  // Every draft accepted: the last row is the bonus token.
  next = sampler.sample(main.rowLogits(count), vocab);
  return count;
}

} // namespace

bool generateSpeculative(ModelRunner &main, ModelRunner &draft,
                         const std::vector<int32_t> &prompt,
                         const GenerationOptions &options, int64_t draftTokens,
                         GenerationResult &result, SpeculationStats &stats,
                         matc::spec::Diagnostics &diags,
                         const std::function<void(int32_t)> &onToken) {
  result = GenerationResult();
  stats = SpeculationStats();
  main.reset();
  draft.reset();
  int64_t promptLength = static_cast<int64_t>(prompt.size());
  int64_t room = std::max<int64_t>(0, main.maxPositions() - promptLength);
  int64_t budget = std::min(options.maxNewTokens, room);
  result.stoppedAtMaxPositions = budget < options.maxNewTokens;
  if (budget == 0) {
    // Nothing will be sampled, but an overlong prompt is still an error.
    if (promptLength > main.maxPositions())
      return main.run(prompt, diags, LogitRows::Last);
    return true;
  }

  Sampler sampler(options.sampling);
  std::vector<int32_t> sequence = prompt;
  auto emit = [&](int32_t token) {
    sequence.push_back(token);
    result.tokens.push_back(token);
    if (onToken)
      onToken(token);
  };

  // Invariant from here on: main has run every token of `sequence` but the
  // last (main.position() == sequence.size() - 1), the draft a prefix of it.
  // A draft that shares main's cache has no prefill of its own: it starts
  // where main is, attending over main's K/V of the prompt.
  bool sharedCache = draft.sharesCacheOf(main);
  Clock::time_point start = Clock::now();
  if (!main.run(prompt, diags, LogitRows::Last))
    return false;
  emit(sampler.sample(main.lastRowLogits(), main.vocabSize()));
  if (sharedCache)
    draft.seek(main.position());
  else if (!draft.run(prompt, diags, LogitRows::Last))
    return false;
  result.prefillSeconds = secondsSince(start);

  start = Clock::now();
  Drafts drafts;
  while (static_cast<int64_t>(result.tokens.size()) < budget) {
    int64_t wanted = budget - static_cast<int64_t>(result.tokens.size());
    // k drafts make up to k + 1 tokens, and never run past max_positions.
    int64_t count = std::min(std::max<int64_t>(draftTokens, 0), wanted - 1);
    if (!propose(draft, sequence, count, sampler, drafts, stats, diags))
      return false;
    std::vector<int32_t> verify(1, sequence.back());
    verify.insert(verify.end(), drafts.tokens.begin(), drafts.tokens.end());
    // Row i judges draft i, the last row gives the bonus token.
    if (!main.run(verify, diags, LogitRows::All))
      return false;
    ++stats.verifyCalls;
    ++result.decodeCalls;
    int32_t next = 0;
    int64_t accepted = acceptDrafts(main, drafts, sampler, next);
    stats.draftedTokens += count;
    stats.acceptedTokens += accepted;
    int64_t length = static_cast<int64_t>(sequence.size());
    for (int64_t i = 0; i < accepted; ++i)
      emit(drafts.tokens[i]);
    emit(next);
    result.decodedTokens += accepted + 1;
    // Keep the cache rows of the accepted tokens; `next` is fed next round.
    // In a shared cache main's verify call has overwritten the draft's rows
    // of every position it ran, so all rows before main's position are
    // main's, and the draft continues from there.
    main.rewind(length + accepted);
    if (sharedCache)
      draft.seek(main.position());
    else
      draft.rewind(length + accepted);
  }
  result.decodeSeconds = secondsSince(start);
  return true;
}

} // namespace matrt

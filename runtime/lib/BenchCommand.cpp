// OUT bench: prefill and decode speed, with the work per token, as one JSON
// line; with --draft-mix also the speed of speculative decoding and its
// speed-up over plain decoding, measured in the same run.

#include "Commands.h"
#include "ModelSession.h"

#include "matrt/Benchmark.h"
#include "matrt/ModelCost.h"
#include "matrt/SpeculativeDecoding.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace matrt {

const char kBenchUsage[] =
    "OUT bench --weights W [--mix MIX] [--prompt-len N] [--new-tokens N] "
    "[--repeat N] [--draft-mix MIX [--draft-tokens K] [--draft-weights W2] "
    "[--share-draft-cache]]";

namespace {

constexpr int64_t kDefaultPromptLength = 64;
constexpr int64_t kDefaultNewTokens = 64;

// The index of the first token where `a` and `b` differ (the length of the
// shorter one when it is a prefix of the other).
std::size_t firstDifference(const std::vector<int32_t> &a,
                            const std::vector<int32_t> &b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    ++i;
  return i;
}

std::string tokenAt(const std::vector<int32_t> &tokens, std::size_t i) {
  return i < tokens.size() ? std::to_string(tokens[i]) : "none";
}

} // namespace

int runBench(const CommandContext &context,
             const std::vector<std::string> &args) {
  std::string weightsPath, mixText, draftMixText, draftWeightsPath;
  int64_t promptLength = kDefaultPromptLength;
  int64_t newTokens = kDefaultNewTokens;
  int64_t draftTokens = kDefaultDraftTokens;
  FlagParser parser;
  parser.addString("--weights", &weightsPath, "W");
  parser.addString("--mix", &mixText, "MIX");
  parser.addInt("--prompt-len", &promptLength, 1,
                std::numeric_limits<int32_t>::max(), "N");
  parser.addInt("--new-tokens", &newTokens, 0,
                std::numeric_limits<int32_t>::max(), "N");
  int64_t repeats = 1;
  parser.addInt("--repeat", &repeats, 1, 1000, "N");
  parser.addString("--draft-mix", &draftMixText, "MIX");
  parser.addString("--draft-weights", &draftWeightsPath, "W2");
  bool shareDraftCache = false;
  parser.addSwitch("--share-draft-cache", &shareDraftCache);
  parser.addInt("--draft-tokens", &draftTokens, 1,
                std::numeric_limits<int32_t>::max(), "K");
  int status = kExitSuccess;
  if (!context.parseFlags(parser, args, kBenchUsage, status))
    return status;
  if (!parser.given("--weights"))
    return context.usageError("--weights is required", kBenchUsage);
  bool speculative = parser.given("--draft-mix");
  if (parser.given("--draft-tokens") && !speculative)
    return context.usageError("--draft-tokens needs --draft-mix", kBenchUsage);
  if (parser.given("--draft-weights") && !speculative)
    return context.usageError("--draft-weights needs --draft-mix", kBenchUsage);
  if (shareDraftCache && !speculative)
    return context.usageError("--share-draft-cache needs --draft-mix",
                              kBenchUsage);

  matc::spec::Diagnostics diags;
  ModelSession session;
  if (!session.open(context.model, mixText, diags,
                    speculative ? &draftMixText : nullptr))
    return context.report(diags);
  const std::optional<matc::spec::Mix> &draftMix = session.draftMix();
  int64_t maxPositions = session.manifest().maxPositions;
  // Plain decoding fills the cache up to max_positions and samples one token
  // more; generation, speculative too, never samples past max_positions.
  int64_t limit = speculative ? maxPositions - 1 : maxPositions;
  if (promptLength + newTokens > limit) {
    bool defaults =
        !parser.given("--prompt-len") && !parser.given("--new-tokens");
    if (!defaults || limit < 1) {
      diags.error("--prompt-len",
                  std::to_string(promptLength) + " plus --new-tokens " +
                      std::to_string(newTokens) +
                      (speculative ? " must stay below" : " exceed") +
                      " the model's max_positions (" +
                      std::to_string(maxPositions) + ")" +
                      (speculative ? " with --draft-mix: generation never "
                                     "samples a token past it"
                                   : ""));
      return context.report(diags);
    }
    // The defaults suit real models; a toy one still gets a run.
    promptLength = std::max<int64_t>(1, maxPositions / 2);
    newTokens = limit - promptLength;
    diags.warning("", "max_positions is " + std::to_string(maxPositions) +
                          ": running --prompt-len " +
                          std::to_string(promptLength) + " --new-tokens " +
                          std::to_string(newTokens));
  }
  if (!session.loadWeights(weightsPath, diags))
    return context.report(diags);

  std::unique_ptr<ModelRunner> draftRunner;
  if (speculative) {
    if (parser.given("--draft-weights") &&
        !session.loadDraftWeights(draftWeightsPath, diags))
      return context.report(diags);
    draftRunner = session.createDraftRunner(*draftMix, diags);
    if (!draftRunner)
      return context.report(diags);
    if (shareDraftCache)
      draftRunner->shareCacheOf(session.runner());
  }

  BenchmarkResult result;
  if (!runBenchmark(session.runner(), promptLength, newTokens, repeats, result,
                    diags))
    return context.report(diags);
  SpeculativeBenchmarkResult speculation;
  if (speculative &&
      !runSpeculativeBenchmark(session.runner(), *draftRunner, promptLength,
                               newTokens, draftTokens, speculation, diags))
    return context.report(diags);

  const Manifest &manifest = session.manifest();
  ModelCost cost =
      computeModelCost(manifest.spec, session.mix(), manifest.weightDtype);
  nlohmann::ordered_json line;
  line["mix"] = matc::spec::formatMix(session.mix());
  line["prompt_len"] = promptLength;
  line["new_tokens"] = newTokens;
  line["prefill_tok_s"] = result.prefillTokensPerSecond();
  line["decode_tok_s"] = result.decodeTokensPerSecond();
  line["flops_per_token"] = cost.flopsPerToken;
  line["weight_bytes"] = cost.weightBytesPerToken;
  // Attention FLOPs grow with the context; this is their value at the
  // middle of the decode phase, kept apart from flops_per_token.
  line["attention_flops_per_token"] = attentionFlopsPerToken(
      manifest.spec, session.mix(), promptLength + newTokens / 2);
  line["prefill_s"] = result.prefillSeconds;
  line["decode_s"] = result.decodeSeconds;
  line["weight_dtype"] = matc::spec::dtypeName(manifest.weightDtype);
  line["elastic"] = manifest.elastic;
  if (repeats > 1) {
    // prefill_tok_s and decode_tok_s (and the seconds) are the fastest
    // run's; the medians show the spread.
    line["repeat"] = repeats;
    line["prefill_tok_s_median"] = result.medianPrefillTokensPerSecond();
    line["decode_tok_s_median"] = result.medianDecodeTokensPerSecond();
  }
  if (speculative) {
    const std::vector<int32_t> &plainTokens = result.tokens;
    const std::vector<int32_t> &speculativeTokens =
        speculation.generation.tokens;
    bool matches = speculativeTokens == plainTokens;
    double plainRate = result.decodeTokensPerSecond();
    double speculativeRate = speculation.decodeTokensPerSecond();
    line["draft_mix"] = matc::spec::formatMix(*draftMix);
    line["draft_tokens"] = draftTokens;
    line["shared_draft_cache"] = shareDraftCache;
    line["speculative_decode_tok_s"] = speculativeRate;
    line["speculative_speedup"] =
        plainRate > 0 ? speculativeRate / plainRate : 0.0;
    line["accept_rate"] = speculation.stats.acceptanceRate();
    line["tokens_per_main_call"] = speculation.tokensPerMainCall();
    line["speculative_output_matches"] = matches;
    if (!matches) {
      // Greedy verification keeps main's argmax at every position, so the
      // two runs must agree; printed after the line, which is still useful.
      std::size_t at = firstDifference(plainTokens, speculativeTokens);
      diags.error("--draft-mix",
                  "speculative greedy decoding made other tokens than plain "
                  "greedy decoding (token " +
                      std::to_string(at) + ": " +
                      tokenAt(speculativeTokens, at) + " instead of " +
                      tokenAt(plainTokens, at) +
                      "); this is a bug in the runtime or the compiled "
                      "forward function");
    }
  }
  std::string text = line.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::fprintf(context.console.out, "%s\n", text.c_str());
  return context.report(diags);
}

} // namespace matrt

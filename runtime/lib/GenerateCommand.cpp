// OUT generate: prefill a prompt, then decode and sample token by token, or
// with --draft-mix several tokens per main-model call (speculative decoding).

#include "Commands.h"
#include "ModelSession.h"

#include "matrt/Generation.h"
#include "matrt/SpeculativeDecoding.h"
#include "matrt/Tokens.h"

#include <limits>
#include <unistd.h>

namespace matrt {

const char kGenerateUsage[] =
    "OUT generate --weights W [--mix MIX] (--prompt STR | --tokens IDS) "
    "[--max-new-tokens N] [--temperature T] [--top-k K] [--seed S] "
    "[--draft-mix MIX [--draft-tokens K] [--draft-weights W2] "
    "[--share-draft-cache]] "
    "[--print-tokens]";

int runGenerate(const CommandContext &context,
                const std::vector<std::string> &args) {
  std::string weightsPath, mixText, prompt, tokensText, draftMixText,
      draftWeightsPath;
  GenerationOptions options; // max 32 new tokens, greedy, seed 0
  int64_t draftTokens = kDefaultDraftTokens;
  bool printTokens = false;
  FlagParser parser;
  parser.addString("--weights", &weightsPath, "W");
  parser.addString("--mix", &mixText, "MIX");
  parser.addString("--prompt", &prompt, "STR");
  parser.addString("--tokens", &tokensText, "IDS");
  parser.addInt("--max-new-tokens", &options.maxNewTokens, 0,
                std::numeric_limits<int32_t>::max(), "N");
  parser.addDouble("--temperature", &options.sampling.temperature, 0, "T");
  parser.addInt("--top-k", &options.sampling.topK, 0,
                std::numeric_limits<int32_t>::max(), "K");
  parser.addUnsigned("--seed", &options.sampling.seed, "S");
  parser.addString("--draft-mix", &draftMixText, "MIX");
  parser.addString("--draft-weights", &draftWeightsPath, "W2");
  bool shareDraftCache = false;
  parser.addSwitch("--share-draft-cache", &shareDraftCache);
  parser.addInt("--draft-tokens", &draftTokens, 1,
                std::numeric_limits<int32_t>::max(), "K");
  parser.addSwitch("--print-tokens", &printTokens);
  int status = kExitSuccess;
  if (!context.parseFlags(parser, args, kGenerateUsage, status))
    return status;
  if (!parser.given("--weights"))
    return context.usageError("--weights is required", kGenerateUsage);
  if (parser.given("--tokens") == parser.given("--prompt"))
    return context.usageError("give exactly one of --prompt and --tokens",
                              kGenerateUsage);
  bool speculative = parser.given("--draft-mix");
  if (parser.given("--draft-tokens") && !speculative)
    return context.usageError("--draft-tokens needs --draft-mix",
                              kGenerateUsage);
  if (parser.given("--draft-weights") && !speculative)
    return context.usageError("--draft-weights needs --draft-mix",
                              kGenerateUsage);
  if (shareDraftCache && !speculative)
    return context.usageError("--share-draft-cache needs --draft-mix",
                              kGenerateUsage);

  matc::spec::Diagnostics diags;
  ModelSession session;
  if (!session.open(context.model, mixText, diags,
                    speculative ? &draftMixText : nullptr))
    return context.report(diags);
  const std::optional<matc::spec::Mix> &draftMix = session.draftMix();
  bool useTokens = parser.given("--tokens");
  std::optional<std::vector<int32_t>> promptTokens =
      session.promptTokens(useTokens ? "--tokens" : "--prompt",
                           useTokens ? tokensText : prompt, diags);
  // The default (32) is clamped to the context; a given value beyond it
  // can never be honoured.
  if (parser.given("--max-new-tokens") &&
      !session.checkMaxNewTokens(options.maxNewTokens, "--max-new-tokens",
                                 diags))
    return context.report(diags);
  if (!promptTokens || !session.loadWeights(weightsPath, diags))
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

  // Without a tokenizer there is no text to print, only ids.
  printTokens |= !session.byteTokenizer();
  std::FILE *out = context.console.out;
  auto streamText = [&](int32_t token) {
    std::fputc(token, out);
    std::fflush(out); // show each token as soon as it exists
  };
  std::function<void(int32_t)> onToken;
  if (!printTokens)
    onToken = streamText;
  GenerationResult result;
  SpeculationStats stats;
  bool ok = speculative
                ? generateSpeculative(session.runner(), *draftRunner,
                                      *promptTokens, options, draftTokens,
                                      result, stats, diags, onToken)
                : generate(session.runner(), *promptTokens, options, result,
                           diags, onToken);
  if (printTokens)
    std::fprintf(out, "%s\n", formatTokenList(result.tokens).c_str());
  std::fflush(out);
  if (!ok)
    return context.report(diags);

  if (result.stoppedAtMaxPositions)
    diags.warning(
        "", "generation stopped at max_positions (" +
                std::to_string(session.runner().maxPositions()) +
                "): " + std::to_string(promptTokens->size()) + " prompt and " +
                std::to_string(result.tokens.size()) + " generated tokens");
  // Generated text has no trailing newline (stdout holds exactly its bytes);
  // on a terminal, start the summary on a line of its own.
  if (!printTokens && !result.tokens.empty() && ::isatty(::fileno(out)) &&
      ::isatty(::fileno(context.console.err)))
    std::fputc('\n', context.console.err);
  std::FILE *err = context.console.err;
  std::fprintf(
      err,
      "%zu prompt tokens, %zu generated; prefill %.1f tok/s, decode %.1f "
      "tok/s\n",
      promptTokens->size(), result.tokens.size(),
      result.prefillTokensPerSecond(static_cast<int64_t>(promptTokens->size())),
      result.decodeTokensPerSecond());
  if (speculative)
    std::fprintf(err,
                 "speculative decoding with draft mix %s, %lld draft tokens: "
                 "accepted %lld of %lld drafted (%.1f%%), %.2f tokens per "
                 "main-model call (measured speed-up: %s bench --weights W "
                 "--mix %s --draft-mix %s --draft-tokens %lld)\n",
                 matc::spec::formatMix(*draftMix).c_str(),
                 static_cast<long long>(draftTokens),
                 static_cast<long long>(stats.acceptedTokens),
                 static_cast<long long>(stats.draftedTokens),
                 100 * stats.acceptanceRate(), tokensPerMainCall(result, stats),
                 context.programName.c_str(),
                 matc::spec::formatMix(session.mix()).c_str(),
                 matc::spec::formatMix(*draftMix).c_str(),
                 static_cast<long long>(draftTokens));
  return context.report(diags);
}

} // namespace matrt

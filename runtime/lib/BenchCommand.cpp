// OUT bench: prefill and decode speed, with the work per token, as one JSON
// line.

#include "Commands.h"
#include "ModelSession.h"

#include "matrt/Benchmark.h"
#include "matrt/ModelCost.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

namespace matrt {

const char kBenchUsage[] = "OUT bench --weights W [--mix MIX] [--prompt-len N] "
                           "[--new-tokens N]";

namespace {

constexpr int64_t kDefaultPromptLength = 64;
constexpr int64_t kDefaultNewTokens = 64;

} // namespace

int runBench(const CommandContext &context,
             const std::vector<std::string> &args) {
  std::string weightsPath, mixText;
  int64_t promptLength = kDefaultPromptLength;
  int64_t newTokens = kDefaultNewTokens;
  FlagParser parser;
  parser.addString("--weights", &weightsPath, "W");
  parser.addString("--mix", &mixText, "MIX");
  parser.addInt("--prompt-len", &promptLength, 1,
                std::numeric_limits<int32_t>::max(), "N");
  parser.addInt("--new-tokens", &newTokens, 0,
                std::numeric_limits<int32_t>::max(), "N");
  int status = kExitSuccess;
  if (!context.parseFlags(parser, args, kBenchUsage, status))
    return status;
  if (!parser.given("--weights"))
    return context.usageError("--weights is required", kBenchUsage);

  matc::spec::Diagnostics diags;
  ModelSession session;
  if (!session.open(context.model, mixText, diags))
    return context.report(diags);
  int64_t maxPositions = session.manifest().maxPositions;
  if (promptLength + newTokens > maxPositions) {
    bool defaults =
        !parser.given("--prompt-len") && !parser.given("--new-tokens");
    if (!defaults) {
      diags.error("--prompt-len", std::to_string(promptLength) +
                                      " plus --new-tokens " +
                                      std::to_string(newTokens) +
                                      " exceed the model's max_positions (" +
                                      std::to_string(maxPositions) + ")");
      return context.report(diags);
    }
    // The defaults suit real models; a toy one still gets a run.
    promptLength = std::max<int64_t>(1, maxPositions / 2);
    newTokens = maxPositions - promptLength;
    diags.warning("", "max_positions is " + std::to_string(maxPositions) +
                          ": running --prompt-len " +
                          std::to_string(promptLength) + " --new-tokens " +
                          std::to_string(newTokens));
  }
  if (!session.loadWeights(weightsPath, diags))
    return context.report(diags);

  BenchmarkResult result;
  if (!runBenchmark(session.runner(), promptLength, newTokens, result, diags))
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
  std::string text = line.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::fprintf(context.console.out, "%s\n", text.c_str());
  return context.report(diags);
}

} // namespace matrt

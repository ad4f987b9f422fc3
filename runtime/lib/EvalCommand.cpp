// OUT eval: loss and perplexity of next-byte prediction on a data file, for
// one or more mixes over the same weights.

#include "Commands.h"
#include "ModelSession.h"

#include "matrt/Evaluation.h"
#include "matrt/MappedFile.h"
#include "matrt/MixSelection.h"
#include "matrt/Tokens.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <limits>

namespace matrt {

const char kEvalUsage[] =
    "OUT eval --weights W --data FILE [--mix MIX ...] [--seq-len N] "
    "[--split val|all]";

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kDefaultSeqLen = 256;
// Seconds between progress lines on stderr.
constexpr double kProgressInterval = 5;

struct MixScore {
  matc::spec::Mix mix;
  EvalResult result;
};

// The table, then one JSON object per line: lines starting with '{' are the
// machine-readable part.
void printResults(std::FILE *out, const std::vector<MixScore> &scores,
                  const std::string &split, int64_t seqLen) {
  std::size_t mixWidth = 3;
  for (const MixScore &score : scores)
    mixWidth = std::max(mixWidth, matc::spec::formatMix(score.mix).size());
  int width = static_cast<int>(mixWidth);
  std::fprintf(out, "%-*s %10s %10s %12s\n", width, "mix", "tokens", "loss",
               "ppl");
  for (const MixScore &score : scores)
    std::fprintf(out, "%-*s %10lld %10.4f %12.4f\n", width,
                 matc::spec::formatMix(score.mix).c_str(),
                 static_cast<long long>(score.result.tokens),
                 score.result.meanLoss(), score.result.perplexity());
  for (const MixScore &score : scores) {
    nlohmann::ordered_json line;
    line["mix"] = matc::spec::formatMix(score.mix);
    line["split"] = split;
    line["seq_len"] = seqLen;
    line["windows"] = score.result.windows;
    line["tokens"] = score.result.tokens;
    // A NaN or infinite loss has no JSON number; it is written as null.
    line["loss"] = score.result.meanLoss();
    line["ppl"] = score.result.perplexity();
    std::fprintf(out, "%s\n",
                 line.dump(-1, ' ', false,
                           nlohmann::ordered_json::error_handler_t::replace)
                     .c_str());
  }
}

} // namespace

int runEval(const CommandContext &context,
            const std::vector<std::string> &args) {
  std::string weightsPath, dataPath, split = "val";
  std::vector<std::string> mixTexts;
  int64_t seqLen = kDefaultSeqLen;
  FlagParser parser;
  parser.addString("--weights", &weightsPath, "W");
  parser.addString("--data", &dataPath, "FILE");
  parser.addStringList("--mix", &mixTexts, "MIX");
  parser.addInt("--seq-len", &seqLen, 1, std::numeric_limits<int32_t>::max(),
                "N");
  parser.addString("--split", &split, "val|all");
  int status = kExitSuccess;
  if (!context.parseFlags(parser, args, kEvalUsage, status))
    return status;
  if (!parser.given("--weights"))
    return context.usageError("--weights is required", kEvalUsage);
  if (!parser.given("--data"))
    return context.usageError("--data is required", kEvalUsage);
  if (split != "val" && split != "all")
    return context.usageError(
        "--split: expected val or all, got '" + split + "'", kEvalUsage);

  matc::spec::Diagnostics diags;
  ModelSession session;
  if (!session.open(context.model, "", diags))
    return context.report(diags);
  const Manifest &manifest = session.manifest();
  std::vector<matc::spec::Mix> mixes;
  for (const std::string &text : mixTexts)
    if (std::optional<matc::spec::Mix> mix = selectMix(manifest, text, diags))
      mixes.push_back(*mix);
  if (mixTexts.empty())
    mixes.push_back(session.mix());
  if (diags.hasErrors())
    return context.report(diags);
  if (!session.byteTokenizer()) {
    diags.error("--data", "eval reads byte data (token = byte value), which "
                          "needs the byte tokenizer (vocab_size 256); this "
                          "model has vocab_size " +
                              std::to_string(manifest.vocabSize));
    return context.report(diags);
  }
  if (!parser.given("--seq-len"))
    seqLen = std::min(kDefaultSeqLen, manifest.maxPositions);
  if (seqLen > manifest.maxPositions) {
    diags.error("--seq-len", std::to_string(seqLen) +
                                 " exceeds the model's max_positions (" +
                                 std::to_string(manifest.maxPositions) + ")");
    return context.report(diags);
  }

  MappedFile data;
  if (!data.open(dataPath, diags))
    return context.report(diags);
  ByteRange range =
      split == "all" ? ByteRange{0, data.size()} : validationSplit(data.size());
  if (range.size() < 2) {
    diags.error("--data", dataPath + ": " +
                              (split == "all" ? std::string("the file")
                                              : "the validation split (the "
                                                "last 10% of the file)") +
                              " has " + std::to_string(range.size()) +
                              " bytes; at least 2 are needed to score one "
                              "prediction" +
                              (split == "all" ? "" : " (try --split all)"));
    return context.report(diags);
  }
  if (!session.loadWeights(weightsPath, diags))
    return context.report(diags);

  const uint8_t *tokens = data.data() + range.begin;
  int64_t numTokens = static_cast<int64_t>(range.size());
  std::fprintf(context.console.err,
               "eval: %s bytes [%llu, %llu) (%s): %lld predictions in %lld "
               "windows of up to %lld tokens, %zu mix%s\n",
               dataPath.c_str(), static_cast<unsigned long long>(range.begin),
               static_cast<unsigned long long>(range.end), split.c_str(),
               static_cast<long long>(numTokens - 1),
               static_cast<long long>(countEvalWindows(numTokens, seqLen)),
               static_cast<long long>(seqLen), mixes.size(),
               mixes.size() == 1 ? "" : "es");
  std::vector<MixScore> scores;
  ModelRunner &runner = session.runner();
  for (const matc::spec::Mix &mix : mixes) {
    std::string mixName = matc::spec::formatMix(mix);
    Clock::time_point lastReport = Clock::now();
    auto progress = [&](int64_t done, int64_t total) {
      Clock::time_point now = Clock::now();
      if (done == total ||
          std::chrono::duration<double>(now - lastReport).count() <
              kProgressInterval)
        return;
      lastReport = now;
      std::fprintf(context.console.err, "eval: mix %s: window %lld of %lld\n",
                   mixName.c_str(), static_cast<long long>(done),
                   static_cast<long long>(total));
      std::fflush(context.console.err);
    };
    MixScore score{mix, EvalResult()};
    if (!runner.setMix(mix, diags) ||
        !evaluateLoss(runner, tokens, numTokens, seqLen, score.result, diags,
                      progress))
      return context.report(diags);
    scores.push_back(std::move(score));
  }
  printResults(context.console.out, scores, split, seqLen);
  std::fflush(context.console.out);
  return context.report(diags);
}

} // namespace matrt

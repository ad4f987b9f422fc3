#include "matrt/Evaluation.h"

#include "CommandTestSupport.h"
#include "TempDir.h"
#include "matc/spec/FileIO.h"
#include "spec/SpecTestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::test::contains;
using matc::test::hasError;
using matc::test::lines;
using matc::test::Outcome;
using matc::test::runToyCommand;
using matc::test::TempDir;
using matc::test::toyCalls;
using matc::test::toyManifest;
using matc::test::ToyModel;

TEST(EvaluationTest, CrossEntropyOfKnownRows) {
  std::vector<float> uniform(256, 0.25f);
  EXPECT_NEAR(tokenCrossEntropy(uniform.data(), 256, 7), std::log(256.0),
              1e-12);
  std::vector<float> oneHot(256, 0.0f);
  oneHot[3] = 1.0f;
  double partition = std::log(std::exp(1.0) + 255);
  EXPECT_NEAR(tokenCrossEntropy(oneHot.data(), 256, 3), partition - 1, 1e-12);
  EXPECT_NEAR(tokenCrossEntropy(oneHot.data(), 256, 4), partition, 1e-12);
  // Large logits do not overflow.
  std::vector<float> large = {1000.0f, 1000.0f};
  EXPECT_NEAR(tokenCrossEntropy(large.data(), 2, 0), std::log(2.0), 1e-12);
  std::vector<float> impossible = {0.0f, -INFINITY};
  EXPECT_TRUE(std::isinf(tokenCrossEntropy(impossible.data(), 2, 1)));
}

TEST(EvaluationTest, SplitsAndWindows) {
  EXPECT_EQ(validationSplit(100).begin, 90u);
  EXPECT_EQ(validationSplit(100).end, 100u);
  EXPECT_EQ(validationSplit(15).begin, 13u); // floor(13.5)
  EXPECT_EQ(validationSplit(9).begin, 8u);
  EXPECT_EQ(validationSplit(0).size(), 0u);
  // n tokens make n - 1 predictions, seqLen per window.
  EXPECT_EQ(countEvalWindows(10, 3), 3);
  EXPECT_EQ(countEvalWindows(11, 3), 4);
  EXPECT_EQ(countEvalWindows(2, 256), 1);
  EXPECT_EQ(countEvalWindows(1, 4), 0);
  EXPECT_EQ(countEvalWindows(0, 4), 0);
}

TEST(EvaluationTest, UniformLogitsGiveLn256) {
  ToyModel toy("16,16", /*logit=*/0.0f); // every logit 0
  std::unique_ptr<ModelRunner> runner = toy.runner();
  std::vector<uint8_t> data(10);
  for (int i = 0; i < 10; ++i)
    data[i] = static_cast<uint8_t>(i * 37);
  EvalResult result;
  Diagnostics diags;
  std::vector<int64_t> progress;
  ASSERT_TRUE(evaluateLoss(*runner, data.data(), 10, 4, result, diags,
                           [&](int64_t done, int64_t total) {
                             progress.push_back(done);
                             EXPECT_EQ(total, 3);
                           }))
      << diags.str();
  EXPECT_EQ(result.tokens, 9);
  EXPECT_EQ(result.windows, 3);
  EXPECT_NEAR(result.meanLoss(), std::log(256.0), 1e-12);
  EXPECT_NEAR(result.perplexity(), 256.0, 1e-9);
  EXPECT_EQ(progress, (std::vector<int64_t>{1, 2, 3}));
  // Windows [0, 4), [4, 8), [8, 9), each a new sequence.
  ASSERT_EQ(toyCalls().size(), 3u);
  EXPECT_EQ(toyCalls()[0].numTokens, 4);
  EXPECT_EQ(toyCalls()[1].numTokens, 4);
  EXPECT_EQ(toyCalls()[2].numTokens, 1);
  for (const matc::test::ToyCall &call : toyCalls()) {
    EXPECT_EQ(call.startPos, 0);
    EXPECT_EQ(call.numLogits, call.numTokens); // every input is scored
  }
}

// The toy (logit 1) predicts the sum of the window so far: bytes 1 1 2 4 8
// are all predicted in one window, but with windows of 2 only the first
// window's two are (the second window restarts the sum at 2).
TEST(EvaluationTest, LossByHand) {
  ToyModel toy;
  std::unique_ptr<ModelRunner> runner = toy.runner();
  const std::vector<uint8_t> data = {1, 1, 2, 4, 8};
  double partition = std::log(std::exp(1.0) + 255);
  EvalResult result;
  Diagnostics diags;
  ASSERT_TRUE(evaluateLoss(*runner, data.data(), 5, 5, result, diags));
  EXPECT_EQ(result.windows, 1);
  EXPECT_NEAR(result.meanLoss(), partition - 1, 1e-12);
  ASSERT_TRUE(evaluateLoss(*runner, data.data(), 5, 2, result, diags));
  EXPECT_EQ(result.windows, 2);
  EXPECT_EQ(result.tokens, 4);
  EXPECT_NEAR(result.totalLoss, 2 * (partition - 1) + 2 * partition, 1e-12);
  EXPECT_NEAR(result.meanLoss(), partition - 0.5, 1e-12);

  EXPECT_FALSE(evaluateLoss(*runner, data.data(), 5, 17, result, diags));
  EXPECT_TRUE(hasError(diags, {"--seq-len", "17", "max_positions (16)"}));
}

namespace {

// A stand-in for matc_model_loss: records what it was given and returns a
// loss of (first token + 1) per prediction, so each window's sum says which
// window it was.
std::vector<std::vector<int32_t>> &lossCalls() {
  static std::vector<std::vector<int32_t>> calls;
  return calls;
}
void recordingLoss(int64_t numTokens, const int32_t *tokens, float *loss,
                   float *kCache, float *vCache, const int64_t *layerWidths,
                   void *const *weights) {
  lossCalls().emplace_back(tokens, tokens + numTokens + 1);
  loss[0] = static_cast<float>(numTokens * (tokens[0] + 1));
  EXPECT_TRUE(kCache && vCache && weights);
  EXPECT_EQ(layerWidths[0], 16);
}

} // namespace

// With the binary's generated loss, each window is one call of it with its
// inputs and the target after the last; the forward function is not used.
TEST(EvaluationTest, UsesTheGeneratedLoss) {
  ToyModel toy;
  lossCalls().clear();
  Diagnostics diags;
  std::unique_ptr<ModelRunner> runner =
      ModelRunner::create(toy.manifest, matc::test::toyForward,
                          toy.pointers.data(), diags, recordingLoss);
  ASSERT_TRUE(runner && runner->hasLoss()) << diags.str();
  const std::vector<uint8_t> data = {1, 1, 2, 4, 8};
  EvalResult result;
  ASSERT_TRUE(evaluateLoss(*runner, data.data(), 5, 3, result, diags));
  EXPECT_EQ(lossCalls(),
            (std::vector<std::vector<int32_t>>{{1, 1, 2, 4}, {4, 8}}));
  EXPECT_EQ(result.windows, 2);
  EXPECT_EQ(result.tokens, 4);
  EXPECT_DOUBLE_EQ(result.totalLoss, 3 * 2 + 1 * 5);
  EXPECT_TRUE(toyCalls().empty());
  EXPECT_EQ(runner->position(), 0);

  // sequenceLoss checks what the generated code relies on.
  double sum = 0;
  EXPECT_FALSE(runner->sequenceLoss({7}, sum, diags));
  EXPECT_TRUE(hasError(diags, {"1 tokens", "a loss needs 2"}));
  EXPECT_FALSE(runner->sequenceLoss(std::vector<int32_t>(18, 1), sum, diags));
  EXPECT_FALSE(runner->sequenceLoss({1, 300}, sum, diags));
  EXPECT_TRUE(hasError(diags, {"300", "outside the vocabulary"}));
  EXPECT_EQ(lossCalls().size(), 2u);
  std::unique_ptr<ModelRunner> without = toy.runner();
  EXPECT_FALSE(without->hasLoss());
  EXPECT_FALSE(without->sequenceLoss({1, 2}, sum, diags));
}

namespace {

class EvalCommandTest : public ::testing::Test {
protected:
  void SetUp() override {
    matc::test::resetToy();
    weights = tmp.path("w.safetensors");
    ASSERT_TRUE(matc::test::writeToyWeights(weights));
    data = tmp.path("data.bin");
    // 100 bytes: the validation split is the last 10.
    std::string bytes;
    for (int i = 0; i < 100; ++i)
      bytes += static_cast<char>(i % 7);
    Diagnostics diags;
    ASSERT_TRUE(matc::spec::writeFileAtomically(data, bytes, diags));
  }

  // The JSON lines of an eval's stdout, after checking the table above them.
  std::vector<nlohmann::json> jsonLines(const Outcome &outcome,
                                        std::size_t mixes) {
    std::vector<std::string> all = lines(outcome.out);
    EXPECT_EQ(all.size(), 1 + 2 * mixes) << outcome.out;
    std::vector<nlohmann::json> parsed;
    for (std::size_t i = 0; i < all.size(); ++i) {
      bool isJson = !all[i].empty() && all[i][0] == '{';
      EXPECT_EQ(isJson, i > mixes) << all[i];
      if (isJson)
        parsed.push_back(nlohmann::json::parse(all[i], nullptr, false));
    }
    return parsed;
  }

  TempDir tmp;
  std::string weights, data;
};

} // namespace

TEST_F(EvalCommandTest, TableThenJsonPerMix) {
  Outcome result =
      runToyCommand({"eval", "--weights", weights, "--data", data, "--mix",
                     "XL", "--mix", "S,skip", "--seq-len", "4"},
                    toyManifest("elastic"));
  ASSERT_EQ(result.status, matrt::kExitSuccess) << result.err;
  std::vector<std::string> all = lines(result.out);
  ASSERT_GE(all.size(), 3u);
  EXPECT_EQ(all[0].rfind("mix ", 0), 0u) << all[0];
  EXPECT_TRUE(contains(all[0], "tokens"));
  EXPECT_TRUE(contains(all[0], "loss"));
  EXPECT_TRUE(contains(all[0], "ppl"));
  EXPECT_EQ(all[1].rfind("16,16 ", 0), 0u) << all[1];
  EXPECT_EQ(all[2].rfind("2,skip ", 0), 0u) << all[2];
  std::vector<nlohmann::json> json = jsonLines(result, 2);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["mix"], "16,16");
  EXPECT_EQ(json[1]["mix"], "2,skip");
  for (const nlohmann::json &line : json) {
    EXPECT_EQ(line["split"], "val");
    EXPECT_EQ(line["seq_len"], 4);
    EXPECT_EQ(line["tokens"], 9); // bytes 90..99
    EXPECT_EQ(line["windows"], 3);
    EXPECT_NEAR(line["ppl"].get<double>(), std::exp(line["loss"].get<double>()),
                1e-9);
  }
  // Both mixes ran over the same weights, each with its widths.
  ASSERT_EQ(toyCalls().size(), 6u);
  EXPECT_EQ(toyCalls()[0].layerWidths, (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(toyCalls()[3].layerWidths, (std::vector<int64_t>{2, -1}));
  EXPECT_TRUE(contains(result.err, "eval: " + data));
}

TEST_F(EvalCommandTest, DefaultsAndSplitAll) {
  Outcome result = runToyCommand(
      {"eval", "--weights", weights, "--data", data, "--split", "all"});
  ASSERT_EQ(result.status, matrt::kExitSuccess) << result.err;
  std::vector<nlohmann::json> json = jsonLines(result, 1);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["mix"], "16,16");
  EXPECT_EQ(json[0]["seq_len"], 16); // min(256, max_positions)
  EXPECT_EQ(json[0]["tokens"], 99);
  EXPECT_EQ(json[0]["windows"], 7);
  EXPECT_EQ(json[0]["split"], "all");
}

TEST_F(EvalCommandTest, Errors) {
  Outcome missing =
      runToyCommand({"eval", "--weights", weights, "--data", tmp.path("nope")});
  EXPECT_EQ(missing.status, matrt::kExitUserError);
  EXPECT_TRUE(contains(missing.err, tmp.path("nope"))) << missing.err;
  EXPECT_EQ(missing.out, "");

  std::string tiny = tmp.path("tiny.bin");
  Diagnostics diags;
  ASSERT_TRUE(matc::spec::writeFileAtomically(tiny, "abcdefghi", diags));
  Outcome small = runToyCommand({"eval", "--weights", weights, "--data", tiny});
  EXPECT_EQ(small.status, matrt::kExitUserError);
  EXPECT_TRUE(contains(small.err, "validation split")) << small.err;
  EXPECT_TRUE(contains(small.err, "--split all"));
  EXPECT_EQ(runToyCommand({"eval", "--weights", weights, "--data", tiny,
                           "--split", "all"})
                .status,
            matrt::kExitSuccess);

  Outcome otherMix = runToyCommand(
      {"eval", "--weights", weights, "--data", data, "--mix", "S"});
  EXPECT_EQ(otherMix.status, matrt::kExitUserError);
  EXPECT_TRUE(contains(otherMix.err, "compiled for mix 16,16")) << otherMix.err;
  Outcome ownMix = runToyCommand(
      {"eval", "--weights", weights, "--data", data, "--mix", "XL"});
  EXPECT_EQ(ownMix.status, matrt::kExitSuccess) << ownMix.err;

  Outcome longWindows = runToyCommand(
      {"eval", "--weights", weights, "--data", data, "--seq-len", "17"});
  EXPECT_EQ(longWindows.status, matrt::kExitUserError);
  EXPECT_TRUE(contains(longWindows.err, "--seq-len: 17 exceeds"));

  Outcome split = runToyCommand(
      {"eval", "--weights", weights, "--data", data, "--split", "train"});
  EXPECT_EQ(split.status, matrt::kExitUsage);
  EXPECT_TRUE(contains(split.err, "--split: expected val or all"));
  EXPECT_EQ(runToyCommand({"eval", "--weights", weights}).status,
            matrt::kExitUsage);

  std::string bigWeights = tmp.path("big.safetensors");
  ASSERT_TRUE(
      matc::test::writeToyWeights(bigWeights, matc::spec::DType::F32, 1000));
  matc::test::resetToy(1000);
  Outcome vocab =
      runToyCommand({"eval", "--weights", bigWeights, "--data", data},
                    toyManifest("16,16", "F32", 1000));
  EXPECT_EQ(vocab.status, matrt::kExitUserError);
  EXPECT_TRUE(contains(vocab.err, "vocab_size 1000")) << vocab.err;
}

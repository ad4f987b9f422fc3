#include "matrt/Generation.h"
#include "matrt/Benchmark.h"
#include "matrt/ModelRunner.h"

#include "RuntimeTestSupport.h"
#include "spec/SpecTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::test::hasError;
using matc::test::kToyHidden;
using matc::test::kToyMaxPositions;
using matc::test::resetToy;
using matc::test::toyCalls;
using matc::test::toyPrediction;

namespace {

// A runner over the toy model with in-memory weights: embedding 0, norm 1.
class ToyRunner {
public:
  ToyRunner() : embed(256 * kToyHidden, 0.0f), norm(kToyHidden, 1.0f) {
    resetToy();
    Diagnostics diags;
    manifest = *parseManifest(matc::test::toyManifest(), diags);
    pointers = {embed.data(), norm.data()};
    runner = ModelRunner::create(manifest, matc::test::toyForward,
                                 pointers.data(), diags);
    EXPECT_TRUE(runner) << diags.str();
  }
  ~ToyRunner() { EXPECT_FALSE(matc::test::toyPreconditionViolated()); }

  std::vector<float> embed, norm;
  std::vector<void *> pointers;
  Manifest manifest;
  std::unique_ptr<ModelRunner> runner;
};

} // namespace

TEST(ModelRunnerTest, CallsAdvanceThePositionAndKeepTheCache) {
  ToyRunner toy;
  ModelRunner &runner = *toy.runner;
  Diagnostics diags;
  ASSERT_TRUE(runner.run({3, 4, 5}, diags, LogitRows::All)) << diags.str();
  EXPECT_EQ(runner.position(), 3);
  ASSERT_EQ(runner.logits().size(), 3u * 256);
  EXPECT_EQ(runner.firstLogitRow(), 0);
  EXPECT_EQ(runner.endLogitRow(), 3);
  // Row i predicts the sum of tokens 0..i.
  EXPECT_EQ(runner.logits()[0 * 256 + 3], 1.0f);
  EXPECT_EQ(runner.logits()[1 * 256 + 7], 1.0f);
  EXPECT_EQ(runner.logits()[2 * 256 + 12], 1.0f);
  ASSERT_TRUE(runner.run({100}, diags, LogitRows::Last));
  EXPECT_EQ(runner.lastRowLogits()[112], 1.0f); // the cache kept 3, 4, 5
  ASSERT_EQ(toyCalls().size(), 2u);
  EXPECT_EQ(toyCalls()[0].numLogits, 3);
  EXPECT_EQ(toyCalls()[1].numTokens, 1);
  EXPECT_EQ(toyCalls()[1].startPos, 3);
  EXPECT_EQ(toyCalls()[1].numLogits, 1);
  runner.reset();
  ASSERT_TRUE(runner.run({9}, diags, LogitRows::Last));
  EXPECT_EQ(toyCalls().back().startPos, 0);
  EXPECT_EQ(runner.lastRowLogits()[9], 1.0f);
}

TEST(ModelRunnerTest, PreconditionsAreCheckedBeforeCalling) {
  ToyRunner toy;
  ModelRunner &runner = *toy.runner;
  Diagnostics diags;
  for (LogitRows rows : {LogitRows::All, LogitRows::Last}) {
    EXPECT_FALSE(runner.run({}, diags, rows));
    EXPECT_TRUE(hasError(diags, {"at least one token"}));
    EXPECT_FALSE(runner.run({1, 256}, diags, rows));
    EXPECT_TRUE(hasError(diags, {"token at position 1 is 256", "[0, 256)"}));
    EXPECT_FALSE(runner.run({-1}, diags, rows));
    EXPECT_FALSE(runner.run(std::vector<int32_t>(kToyMaxPositions + 1, 1),
                            diags, rows));
    EXPECT_TRUE(hasError(diags, {"exceed the model's max_positions (16)"}));
  }
  EXPECT_TRUE(toyCalls().empty());
  EXPECT_EQ(runner.lastRowLogits(), nullptr); // nothing has run
  ASSERT_TRUE(runner.run(std::vector<int32_t>(kToyMaxPositions, 1), diags,
                         LogitRows::All));
  EXPECT_FALSE(runner.run({1}, diags, LogitRows::Last));
  EXPECT_TRUE(hasError(diags, {"positions 16..16"}));
  EXPECT_EQ(toyCalls().size(), 1u);
}

TEST(ModelRunnerTest, WidthsArePassedOnEveryCall) {
  matc::test::ToyModel toy("elastic");
  std::unique_ptr<ModelRunner> runner = toy.runner();
  Diagnostics diags;
  // The spec's default mix (XL) until another is set.
  ASSERT_TRUE(runner->run({1, 2}, diags, LogitRows::All));
  ASSERT_TRUE(runner->setMix(
      *matc::spec::parseMix("S,skip", toy.manifest.spec, diags), diags))
      << diags.str();
  EXPECT_EQ(runner->position(), 0); // a new mix starts a new sequence
  EXPECT_EQ(runner->layerWidths(), (std::vector<int64_t>{2, -1}));
  ASSERT_TRUE(runner->run({3}, diags, LogitRows::Last));
  ASSERT_TRUE(runner->setMix(
      *matc::spec::parseMix("0,13", toy.manifest.spec, diags), diags));
  ASSERT_TRUE(runner->run({4}, diags, LogitRows::Last));
  ASSERT_EQ(toyCalls().size(), 3u);
  EXPECT_EQ(toyCalls()[0].layerWidths, (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(toyCalls()[1].layerWidths, (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(toyCalls()[1].startPos, 0);
  EXPECT_EQ(toyCalls()[2].layerWidths, (std::vector<int64_t>{0, 13}));
  EXPECT_EQ(matc::spec::formatMix(runner->mix()), "0,13");
}

TEST(ModelRunnerTest, StaticBinaryGetsItsOwnWidths) {
  matc::test::ToyModel toy("8,skip");
  std::unique_ptr<ModelRunner> runner = toy.runner();
  Diagnostics diags;
  ASSERT_TRUE(runner->run({1}, diags, LogitRows::Last));
  EXPECT_EQ(toyCalls().back().layerWidths, (std::vector<int64_t>{8, -1}));
}

TEST(ModelRunnerTest, SetMixChecksWhatTheGeneratedCodeTrusts) {
  matc::test::ToyModel toy("elastic");
  std::unique_ptr<ModelRunner> runner = toy.runner("S,S");
  Diagnostics diags;
  using matc::spec::LayerChoice;
  EXPECT_FALSE(runner->setMix({LayerChoice{false, 16}}, diags));
  EXPECT_TRUE(hasError(diags, {"mix: 1 layer choices; the model has 2"}));
  EXPECT_FALSE(runner->setMix({{false, 16}, {false, 17}}, diags));
  EXPECT_TRUE(hasError(diags, {"layer 1 width 17 is outside [0, 16]"}));
  EXPECT_FALSE(runner->setMix({{false, -1}, {false, 16}}, diags));
  EXPECT_TRUE(hasError(diags, {"layer 0 width -1"}));
  EXPECT_EQ(matc::spec::formatMix(runner->mix()), "2,2"); // unchanged
  // A skipped layer's width does not matter.
  EXPECT_TRUE(runner->setMix({{true, 99}, {false, 0}}, diags));
  EXPECT_EQ(runner->layerWidths(), (std::vector<int64_t>{-1, 0}));

  matc::test::ToyModel fixed("8,16");
  std::unique_ptr<ModelRunner> staticRunner = fixed.runner();
  Diagnostics staticDiags;
  EXPECT_TRUE(staticRunner->setMix({{false, 8}, {false, 16}}, staticDiags));
  EXPECT_FALSE(staticRunner->setMix({{false, 16}, {false, 16}}, staticDiags));
  EXPECT_TRUE(hasError(staticDiags, {"compiled for mix 8,16 and cannot run "
                                     "16,16"}));
  EXPECT_TRUE(toyCalls().empty());
}

TEST(ModelRunnerTest, RewindForgetsLaterPositions) {
  matc::test::ToyModel toy;
  std::unique_ptr<ModelRunner> runner = toy.runner();
  Diagnostics diags;
  ASSERT_TRUE(runner->run({1, 2, 3, 4, 5}, diags, LogitRows::Last));
  runner->rewind(2);
  EXPECT_EQ(runner->position(), 2);
  runner->rewind(4); // never forward
  EXPECT_EQ(runner->position(), 2);
  ASSERT_TRUE(runner->run({10, 20}, diags, LogitRows::All));
  EXPECT_EQ(toyCalls().back().startPos, 2);
  // Rows 0..1 kept (1, 2), rows 2..3 overwritten (10, 20).
  EXPECT_EQ(runner->rowLogits(0)[13], 1.0f);
  EXPECT_EQ(runner->lastRowLogits()[33], 1.0f);
}

// Last asks the forward function for one row and keeps exactly the last row
// an All run of the same tokens makes, numbered as there; the cache and the
// position advance the same either way.
TEST(ModelRunnerTest, LastKeepsTheLastRowOfAll) {
  matc::test::ToyModel toy;
  std::unique_ptr<ModelRunner> all = toy.runner();
  std::unique_ptr<ModelRunner> last = toy.runner();
  Diagnostics diags;
  const int64_t vocab = 256;
  std::vector<int32_t> sequence;
  for (const std::vector<int32_t> &tokens :
       {std::vector<int32_t>{7}, std::vector<int32_t>{1, 2, 3, 4},
        std::vector<int32_t>{200, 100, 50}}) {
    SCOPED_TRACE("tokens from position " + std::to_string(all->position()));
    int64_t count = static_cast<int64_t>(tokens.size());
    ASSERT_TRUE(all->run(tokens, diags, LogitRows::All)) << diags.str();
    EXPECT_EQ(toyCalls().back().numLogits, count);
    ASSERT_TRUE(last->run(tokens, diags, LogitRows::Last)) << diags.str();
    EXPECT_EQ(toyCalls().back().numTokens, count);
    EXPECT_EQ(toyCalls().back().numLogits, 1);
    EXPECT_EQ(last->position(), all->position());

    ASSERT_EQ(all->logits().size(), static_cast<std::size_t>(count * vocab));
    ASSERT_EQ(last->logits().size(), static_cast<std::size_t>(vocab));
    EXPECT_EQ(last->firstLogitRow(), count - 1);
    EXPECT_EQ(last->endLogitRow(), count);
    std::vector<float> expected(all->rowLogits(count - 1),
                                all->rowLogits(count - 1) + vocab);
    EXPECT_EQ(std::vector<float>(all->lastRowLogits(),
                                 all->lastRowLogits() + vocab),
              expected);
    EXPECT_EQ(std::vector<float>(last->lastRowLogits(),
                                 last->lastRowLogits() + vocab),
              expected);
    EXPECT_EQ(last->rowLogits(count - 1), last->lastRowLogits());
    EXPECT_EQ(last->logits(), expected);
    // The toy's row is one-hot at the prediction after the whole sequence.
    sequence.insert(sequence.end(), tokens.begin(), tokens.end());
    std::vector<float> oneHot(vocab, 0.0f);
    oneHot[static_cast<std::size_t>(toyPrediction(sequence))] = 1.0f;
    EXPECT_EQ(expected, oneHot);
    // Rows before the last were not asked for.
    for (int64_t row = 0; row < count - 1; ++row)
      EXPECT_EQ(last->rowLogits(row), nullptr) << "row " << row;
    EXPECT_EQ(last->rowLogits(count), nullptr);
    EXPECT_EQ(all->rowLogits(count), nullptr);
    EXPECT_EQ(all->rowLogits(-1), nullptr);
  }
}

TEST(GenerationTest, PrefillOnceThenOneDecodeCallPerToken) {
  ToyRunner toy;
  GenerationOptions options;
  options.maxNewTokens = 4;
  GenerationResult result;
  Diagnostics diags;
  std::vector<int32_t> streamed;
  ASSERT_TRUE(generate(*toy.runner, {1, 2, 3}, options, result, diags,
                       [&](int32_t token) { streamed.push_back(token); }))
      << diags.str();
  // Greedy on the toy: each token is the sum of the sequence so far.
  std::vector<int32_t> sequence = {1, 2, 3};
  std::vector<int32_t> expected;
  for (int i = 0; i < 4; ++i) {
    expected.push_back(static_cast<int32_t>(toyPrediction(sequence)));
    sequence.push_back(expected.back());
  }
  EXPECT_EQ(result.tokens, expected);
  EXPECT_EQ(streamed, expected);
  EXPECT_FALSE(result.stoppedAtMaxPositions);
  EXPECT_EQ(result.decodeCalls, 3);
  EXPECT_EQ(result.decodedTokens, 3);
  ASSERT_EQ(toyCalls().size(), 4u);
  EXPECT_EQ(toyCalls()[0].numTokens, 3);
  EXPECT_EQ(toyCalls()[0].startPos, 0);
  EXPECT_EQ(toyCalls()[0].numLogits, 1); // the prefill samples from one row
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(toyCalls()[i].numTokens, 1);
    EXPECT_EQ(toyCalls()[i].startPos, 2 + i);
    EXPECT_EQ(toyCalls()[i].numLogits, 1);
  }
}

TEST(GenerationTest, StopsAtMaxPositions) {
  ToyRunner toy;
  GenerationOptions options;
  options.maxNewTokens = 100;
  GenerationResult result;
  Diagnostics diags;
  ASSERT_TRUE(generate(*toy.runner, std::vector<int32_t>(10, 1), options,
                       result, diags));
  EXPECT_TRUE(result.stoppedAtMaxPositions);
  // Prompt and generated tokens together fill the context exactly.
  EXPECT_EQ(result.tokens.size(), 6u);
  EXPECT_EQ(toyCalls().back().startPos + toyCalls().back().numTokens,
            kToyMaxPositions - 1);

  // A prompt that fills the context leaves no room: nothing runs.
  resetToy();
  ASSERT_TRUE(generate(*toy.runner, std::vector<int32_t>(16, 1), options,
                       result, diags));
  EXPECT_TRUE(result.tokens.empty());
  EXPECT_TRUE(result.stoppedAtMaxPositions);
  EXPECT_TRUE(toyCalls().empty());
}

TEST(GenerationTest, ZeroNewTokensRunsNothing) {
  ToyRunner toy;
  GenerationOptions options;
  options.maxNewTokens = 0;
  GenerationResult result;
  Diagnostics diags;
  ASSERT_TRUE(generate(*toy.runner, {1}, options, result, diags));
  EXPECT_TRUE(result.tokens.empty());
  EXPECT_FALSE(result.stoppedAtMaxPositions);
  EXPECT_TRUE(toyCalls().empty());
}

TEST(GenerationTest, SamplingIsReproducibleAndRestartsTheSequence) {
  ToyRunner toy;
  GenerationOptions options;
  options.maxNewTokens = 5;
  options.sampling.temperature = 1.0;
  options.sampling.seed = 7;
  GenerationResult first, second;
  Diagnostics diags;
  ASSERT_TRUE(generate(*toy.runner, {4, 5}, options, first, diags));
  ASSERT_TRUE(generate(*toy.runner, {4, 5}, options, second, diags));
  EXPECT_EQ(first.tokens, second.tokens);
  EXPECT_EQ(toyCalls()[5].startPos, 0); // the second run started afresh
}

TEST(BenchmarkTest, OnePrefillAndNewTokensDecodeCallsAreTimed) {
  ToyRunner toy;
  BenchmarkResult result;
  Diagnostics diags;
  ASSERT_TRUE(runBenchmark(*toy.runner, 6, 5, 1, result, diags)) << diags.str();
  // Warm-up: prefill and min(5, 4) decodes; then the timed prefill and 5.
  ASSERT_EQ(toyCalls().size(), 1u + 4 + 1 + 5);
  EXPECT_EQ(toyCalls()[5].numTokens, 6);
  EXPECT_EQ(toyCalls()[5].startPos, 0);
  for (const matc::test::ToyCall &call : toyCalls())
    EXPECT_EQ(call.numLogits, 1); // prefill and decode sample one row each
  EXPECT_EQ(toyCalls().back().startPos, 10);
  EXPECT_EQ(result.promptLength, 6);
  EXPECT_EQ(result.newTokens, 5);
  EXPECT_GE(result.prefillTokensPerSecond(), 0);
  EXPECT_GE(result.decodeSeconds, 0);
  // The greedy tokens: the prefill's and one per decode call.
  std::vector<int32_t> sequence = benchmarkPrompt(6, 256);
  std::vector<int32_t> expected;
  for (int i = 0; i < 6; ++i) {
    expected.push_back(static_cast<int32_t>(toyPrediction(sequence)));
    sequence.push_back(expected.back());
  }
  EXPECT_EQ(result.tokens, expected);
}

TEST(BenchmarkTest, RepeatsTimeEveryRunAndKeepTheFastest) {
  ToyRunner toy;
  BenchmarkResult result;
  Diagnostics diags;
  ASSERT_TRUE(runBenchmark(*toy.runner, 6, 5, 3, result, diags))
      << diags.str();
  // The warm-up (prefill and 4 decodes), then 3 x (prefill and 5 decodes),
  // each run from position 0.
  ASSERT_EQ(toyCalls().size(), 5u + 3 * 6);
  for (std::size_t run = 0; run < 3; ++run)
    EXPECT_EQ(toyCalls()[5 + 6 * run].startPos, 0) << run;
  ASSERT_EQ(result.prefillRuns.size(), 3u);
  ASSERT_EQ(result.decodeRuns.size(), 3u);
  EXPECT_EQ(result.prefillSeconds, *std::min_element(result.prefillRuns.begin(),
                                                     result.prefillRuns.end()));
  EXPECT_EQ(result.decodeSeconds, *std::min_element(result.decodeRuns.begin(),
                                                    result.decodeRuns.end()));
  EXPECT_LE(result.medianPrefillTokensPerSecond(),
            result.prefillTokensPerSecond());
  EXPECT_LE(result.medianDecodeTokensPerSecond(),
            result.decodeTokensPerSecond());
  EXPECT_EQ(result.tokens.size(), 6u);

  Diagnostics none;
  EXPECT_FALSE(runBenchmark(*toy.runner, 6, 5, 0, result, none));
  EXPECT_TRUE(hasError(none, {"repeats must be at least 1, got 0"}));
}

TEST(BenchmarkTest, SpeculativeDecodesTheSameTokens) {
  matc::test::ToyModel toy("elastic");
  std::unique_ptr<ModelRunner> main = toy.runner("16,16");
  std::unique_ptr<ModelRunner> draft = toy.runner("S,S");
  Diagnostics diags;
  BenchmarkResult plain;
  ASSERT_TRUE(runBenchmark(*main, 5, 9, 1, plain, diags)) << diags.str();
  for (int64_t k : {1, 3, 4, 9}) {
    SCOPED_TRACE("k " + std::to_string(k));
    toyCalls().clear();
    SpeculativeBenchmarkResult result;
    ASSERT_TRUE(runSpeculativeBenchmark(*main, *draft, 5, 9, k, result, diags))
        << diags.str();
    EXPECT_EQ(result.generation.tokens, plain.tokens);
    EXPECT_EQ(result.generation.decodedTokens, 9);
    EXPECT_EQ(result.stats.verifyCalls, result.generation.decodeCalls);
    EXPECT_GT(result.stats.draftedTokens, 0);
    EXPECT_LE(result.stats.acceptedTokens, result.stats.draftedTokens);
    EXPECT_DOUBLE_EQ(result.tokensPerMainCall(),
                     9.0 / static_cast<double>(result.stats.verifyCalls));
    EXPECT_GE(result.decodeTokensPerSecond(), 0);
    // A warm-up, then the timed run, each starting with the main prefill.
    int64_t prefills = 0;
    for (const matc::test::ToyCall &call : toyCalls())
      prefills += call.startPos == 0 && call.layerWidths[0] == 16 ? 1 : 0;
    EXPECT_EQ(prefills, 2);
    EXPECT_EQ(toyCalls().back().layerWidths, (std::vector<int64_t>{16, 16}));
  }
}

TEST(BenchmarkTest, SpeculativeNeedsRoomForTheLastToken) {
  matc::test::ToyModel toy("elastic");
  std::unique_ptr<ModelRunner> main = toy.runner();
  std::unique_ptr<ModelRunner> draft = toy.runner("S,S");
  SpeculativeBenchmarkResult result;
  Diagnostics diags;
  EXPECT_FALSE(runSpeculativeBenchmark(*main, *draft, 10, 6, 4, result, diags));
  EXPECT_TRUE(hasError(diags, {"below max_positions (16)"}));
  EXPECT_TRUE(toyCalls().empty());
  Diagnostics fits;
  EXPECT_TRUE(runSpeculativeBenchmark(*main, *draft, 10, 5, 4, result, fits))
      << fits.str();
  EXPECT_EQ(result.generation.tokens.size(), 6u);
}

TEST(BenchmarkTest, TooLongIsAnError) {
  ToyRunner toy;
  BenchmarkResult result;
  Diagnostics diags;
  EXPECT_FALSE(runBenchmark(*toy.runner, 10, 7, 1, result, diags));
  EXPECT_TRUE(hasError(diags, {"max_positions (16)"}));
  EXPECT_TRUE(toyCalls().empty());
  EXPECT_TRUE(runBenchmark(*toy.runner, 10, 6, 1, result, diags));
}

TEST(BenchmarkTest, PromptSpreadsOverTheVocabulary) {
  std::vector<int32_t> prompt = benchmarkPrompt(300, 256);
  for (int32_t token : prompt) {
    EXPECT_GE(token, 0);
    EXPECT_LT(token, 256);
  }
  EXPECT_EQ(prompt, benchmarkPrompt(300, 256));
  EXPECT_NE(prompt[0], prompt[1]);
}

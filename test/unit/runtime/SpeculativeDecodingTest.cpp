#include "matrt/SpeculativeDecoding.h"

#include "RuntimeTestSupport.h"
#include "spec/SpecTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::test::kToyMaxPositions;
using matc::test::toyCalls;
using matc::test::ToyModel;

namespace {

// Plain generation with `mix`, the reference speculative decoding must
// reproduce.
std::vector<int32_t> plainTokens(ToyModel &toy, const std::string &mix,
                                 const std::vector<int32_t> &prompt,
                                 const GenerationOptions &options) {
  std::unique_ptr<ModelRunner> runner = toy.runner(mix);
  GenerationResult result;
  Diagnostics diags;
  EXPECT_TRUE(generate(*runner, prompt, options, result, diags)) << diags.str();
  return result.tokens;
}

struct SpeculativeRun {
  GenerationResult result;
  SpeculationStats stats;
  std::vector<int32_t> streamed;
};

SpeculativeRun speculate(ToyModel &toy, const std::string &mainMix,
                         const std::string &draftMix,
                         const std::vector<int32_t> &prompt,
                         const GenerationOptions &options, int64_t k,
                         bool shareCache = false) {
  std::unique_ptr<ModelRunner> main = toy.runner(mainMix);
  std::unique_ptr<ModelRunner> draft = toy.runner(draftMix);
  if (shareCache)
    draft->shareCacheOf(*main);
  SpeculativeRun run;
  Diagnostics diags;
  EXPECT_TRUE(generateSpeculative(
      *main, *draft, prompt, options, k, run.result, run.stats, diags,
      [&](int32_t token) { run.streamed.push_back(token); }))
      << diags.str();
  return run;
}

} // namespace

// The toy's draft mixes disagree with the full model at every position
// ("11,16"), every other ("15,16"), every fourth ("S,S"), every third
// ("skip,16", "0,0"), or never ("16,16").
TEST(SpeculativeDecodingTest, GreedyEqualsPlainGreedyWithTheMainMix) {
  ToyModel toy("elastic");
  GenerationOptions options;
  options.maxNewTokens = 9;
  for (const char *mainMix : {"16,16", "8,8"})
    for (const char *draftMix :
         {"16,16", "11,16", "15,16", "S,S", "skip,16", "0,0"})
      for (int64_t k : {1, 2, 3, 4, 7})
        for (const std::vector<int32_t> &prompt :
             {std::vector<int32_t>{1}, std::vector<int32_t>{5, 9, 200}}) {
          SCOPED_TRACE(std::string("main ") + mainMix + ", draft " + draftMix +
                       ", k " + std::to_string(k) + ", prompt length " +
                       std::to_string(prompt.size()));
          std::vector<int32_t> expected =
              plainTokens(toy, mainMix, prompt, options);
          SpeculativeRun run =
              speculate(toy, mainMix, draftMix, prompt, options, k);
          EXPECT_EQ(run.result.tokens, expected);
          EXPECT_EQ(run.streamed, expected);
          EXPECT_EQ(run.result.decodedTokens + 1,
                    static_cast<int64_t>(expected.size()));
          EXPECT_LE(run.stats.acceptedTokens, run.stats.draftedTokens);
        }
}

TEST(SpeculativeDecodingTest, AcceptanceFollowsAgreement) {
  ToyModel toy("elastic");
  GenerationOptions options;
  options.maxNewTokens = 11;
  // The same mix always agrees: 10 tokens after the prefill's one, in rounds
  // of k + 1 = 5 tokens, so 2 main calls instead of 10.
  SpeculativeRun same = speculate(toy, "16,16", "16,16", {1, 2}, options, 4);
  EXPECT_EQ(same.stats.acceptanceRate(), 1.0);
  EXPECT_EQ(same.stats.verifyCalls, 2);
  EXPECT_EQ(same.stats.draftedTokens, 8);
  EXPECT_EQ(same.result.decodeCalls, 2);

  // A draft that is always wrong: nothing accepted, one token per round.
  SpeculativeRun wrong = speculate(toy, "16,16", "11,16", {1, 2}, options, 4);
  EXPECT_EQ(wrong.stats.acceptedTokens, 0);
  EXPECT_EQ(wrong.stats.acceptanceRate(), 0.0);
  EXPECT_EQ(wrong.stats.verifyCalls, 10);
  EXPECT_EQ(wrong.result.tokens, same.result.tokens);

  // Wrong at every other position: somewhere in between.
  SpeculativeRun half = speculate(toy, "16,16", "15,16", {1, 2}, options, 4);
  EXPECT_GT(half.stats.acceptanceRate(), 0.0);
  EXPECT_LT(half.stats.acceptanceRate(), 1.0);
  EXPECT_EQ(half.result.tokens, same.result.tokens);
}

TEST(SpeculativeDecodingTest, CallsVerifyAllDraftsAtOnce) {
  ToyModel toy("elastic");
  GenerationOptions options;
  options.maxNewTokens = 6;
  std::unique_ptr<ModelRunner> main = toy.runner("16,16");
  std::unique_ptr<ModelRunner> draft = toy.runner("S,S");
  GenerationResult result;
  SpeculationStats stats;
  Diagnostics diags;
  ASSERT_TRUE(generateSpeculative(*main, *draft, {3, 4}, options, 3, result,
                                  stats, diags));
  const std::vector<int64_t> full = {16, 16}, small = {2, 2};
  // Prefill: main, then draft, both over the prompt.
  ASSERT_GE(toyCalls().size(), 6u);
  // Main samples the first token from its last row; the draft's prefill
  // logits are not used, so it asks for the fewest.
  EXPECT_EQ(toyCalls()[0].numTokens, 2);
  EXPECT_EQ(toyCalls()[0].numLogits, 1);
  EXPECT_EQ(toyCalls()[0].layerWidths, full);
  EXPECT_EQ(toyCalls()[1].numTokens, 2);
  EXPECT_EQ(toyCalls()[1].numLogits, 1);
  EXPECT_EQ(toyCalls()[1].layerWidths, small);
  // Round 1: three single-token draft calls, then main runs the last
  // accepted token and the three drafts in one call at position 2.
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(toyCalls()[i].numTokens, 1);
    EXPECT_EQ(toyCalls()[i].startPos, i);
    EXPECT_EQ(toyCalls()[i].numLogits, 1);
    EXPECT_EQ(toyCalls()[i].layerWidths, small);
  }
  // Verification needs a row per draft and the bonus row.
  EXPECT_EQ(toyCalls()[5].numTokens, 4);
  EXPECT_EQ(toyCalls()[5].numLogits, 4);
  EXPECT_EQ(toyCalls()[5].startPos, 2);
  EXPECT_EQ(toyCalls()[5].layerWidths, full);
  // No call of either runner runs past the context.
  for (const matc::test::ToyCall &call : toyCalls())
    EXPECT_LE(call.startPos + call.numTokens, kToyMaxPositions);
  EXPECT_EQ(main->position(), 2 + 6 - 1); // all but the last token run
}

// With one cache (the toy's prediction sums the tokens its cache holds, so
// a row the draft left behind would change main's output): still plain
// greedy output, and the draft never prefills.
TEST(SpeculativeDecodingTest, SharedCacheKeepsPlainGreedyOutput) {
  ToyModel toy("elastic");
  GenerationOptions options;
  options.maxNewTokens = 9;
  for (const char *draftMix : {"16,16", "11,16", "15,16", "S,S", "skip,16"})
    for (int64_t k : {1, 3, 7}) {
      SCOPED_TRACE(std::string("draft ") + draftMix + ", k " +
                   std::to_string(k));
      std::vector<int32_t> prompt = {5, 9, 200};
      std::vector<int32_t> expected =
          plainTokens(toy, "16,16", prompt, options);
      toyCalls().clear();
      SpeculativeRun run =
          speculate(toy, "16,16", draftMix, prompt, options, k, true);
      EXPECT_EQ(run.result.tokens, expected);
      ASSERT_GE(toyCalls().size(), 2u);
      // Main's prefill, then the draft's first proposal at main's position.
      EXPECT_EQ(toyCalls()[0].numTokens, 3);
      EXPECT_EQ(toyCalls()[1].numTokens, 1);
      EXPECT_EQ(toyCalls()[1].startPos, 3);
    }
  // The same mix in one cache agrees everywhere.
  SpeculativeRun same = speculate(toy, "16,16", "16,16", {1, 2}, options, 4,
                                  /*shareCache=*/true);
  EXPECT_EQ(same.stats.acceptanceRate(), 1.0);
}

TEST(SpeculativeDecodingTest, StopsAtMaxPositionsLikePlainGeneration) {
  ToyModel toy("elastic");
  GenerationOptions options;
  options.maxNewTokens = 100;
  std::vector<int32_t> prompt(10, 1);
  std::vector<int32_t> expected = plainTokens(toy, "16,16", prompt, options);
  ASSERT_EQ(expected.size(), 6u);
  for (int64_t k : {1, 4, 8, 20}) {
    SpeculativeRun run = speculate(toy, "16,16", "16,16", prompt, options, k);
    EXPECT_EQ(run.result.tokens, expected) << "k " << k;
    EXPECT_TRUE(run.result.stoppedAtMaxPositions);
  }
  for (const matc::test::ToyCall &call : toyCalls())
    EXPECT_LE(call.startPos + call.numTokens, kToyMaxPositions);

  // No room at all, or nothing wanted: nothing runs.
  toyCalls().clear();
  SpeculativeRun full =
      speculate(toy, "16,16", "S,S", std::vector<int32_t>(16, 1), options, 4);
  EXPECT_TRUE(full.result.tokens.empty());
  options.maxNewTokens = 0;
  SpeculativeRun none = speculate(toy, "16,16", "S,S", {1}, options, 4);
  EXPECT_TRUE(none.result.tokens.empty());
  EXPECT_TRUE(toyCalls().empty());
}

TEST(SpeculativeDecodingTest, SamplingWithTheSameMixAcceptsEverything) {
  ToyModel toy("elastic", 3.0f);
  GenerationOptions options;
  options.maxNewTokens = 12;
  options.sampling.temperature = 0.7;
  options.sampling.seed = 11;
  SpeculativeRun first = speculate(toy, "16,16", "16,16", {7}, options, 3);
  SpeculativeRun second = speculate(toy, "16,16", "16,16", {7}, options, 3);
  EXPECT_EQ(first.result.tokens, second.result.tokens); // seeded
  EXPECT_EQ(first.result.tokens.size(), 12u);
  EXPECT_EQ(first.stats.acceptanceRate(), 1.0); // p / q is exactly 1
}

// Speculative sampling keeps the main model's distribution, whatever the
// draft proposes. The toy with logit 5 puts probability e^5 / (e^5 + 255)
// (about 0.368) on its prediction and 1 / (e^5 + 255) on every other token;
// the always-wrong draft puts that mass on prediction + 1 instead.
TEST(SpeculativeDecodingTest, SamplingKeepsTheMainDistribution) {
  ToyModel toy("elastic", 5.0f);
  GenerationOptions options;
  // The first token comes from the prefill, the second from a round with one
  // draft token.
  options.maxNewTokens = 3;
  options.sampling.temperature = 1.0;
  const double peak = std::exp(5.0) / (std::exp(5.0) + 255);
  const int runs = 4000;
  int predicted = 0, draftsChoice = 0;
  for (int seed = 0; seed < runs; ++seed) {
    options.sampling.seed = static_cast<uint64_t>(seed);
    SpeculativeRun run = speculate(toy, "16,16", "11,16", {9}, options, 1);
    ASSERT_EQ(run.result.tokens.size(), 3u);
    int64_t mainChoice = matc::test::toyPrediction({9, run.result.tokens[0]});
    predicted += run.result.tokens[1] == mainChoice ? 1 : 0;
    draftsChoice += run.result.tokens[1] == (mainChoice + 1) % 256 ? 1 : 0;
  }
  // Binomial standard deviation at n = 4000: about 0.0076.
  EXPECT_NEAR(static_cast<double>(predicted) / runs, peak, 0.03);
  EXPECT_LT(static_cast<double>(draftsChoice) / runs, 0.02);
}

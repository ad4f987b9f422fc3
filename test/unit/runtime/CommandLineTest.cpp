#include "matrt/CommandLine.h"

#include "RuntimeTestSupport.h"
#include "TempDir.h"
#include "matc/spec/FileIO.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

using namespace matrt;
using matc::test::CapturedStream;
using matc::test::TempDir;
using matc::test::toyCalls;
using matc::test::toyManifest;
using matc::test::toyPrediction;

namespace {

// What one run of the toy compiled model's command line did.
struct Outcome {
  int status = -1;
  std::string out, err;
};

class CommandLineTest : public ::testing::Test {
protected:
  void SetUp() override {
    matc::test::resetToy();
    weights = tmp.path("w.safetensors");
    ASSERT_TRUE(matc::test::writeToyWeights(weights));
  }

  Outcome run(const std::vector<std::string> &args,
              const std::string &manifest = toyManifest()) {
    CapturedStream out, err;
    Outcome result;
    result.status = runCommandLine(args, "toy", matc::test::toyModel(manifest),
                                   Console{out.get(), err.get()});
    result.out = out.contents();
    result.err = err.contents();
    return result;
  }

  TempDir tmp;
  std::string weights;
};

bool contains(const std::string &text, const std::string &fragment) {
  return text.find(fragment) != std::string::npos;
}

} // namespace

TEST_F(CommandLineTest, HelpAndBadUsage) {
  Outcome help = run({"--help"});
  EXPECT_EQ(help.status, kExitSuccess);
  EXPECT_TRUE(contains(help.out, "toy forward --weights W")) << help.out;
  EXPECT_TRUE(contains(help.out, "toy generate"));
  EXPECT_TRUE(contains(help.out, "toy bench"));

  Outcome commandHelp = run({"generate", "--help"});
  EXPECT_EQ(commandHelp.status, kExitSuccess);
  EXPECT_TRUE(contains(commandHelp.out, "--top-k K")) << commandHelp.out;

  EXPECT_EQ(run({}).status, kExitUsage);
  Outcome unknown = run({"frobnicate"});
  EXPECT_EQ(unknown.status, kExitUsage);
  EXPECT_TRUE(contains(unknown.err, "unknown command 'frobnicate'"));
  EXPECT_TRUE(contains(help.out, "toy serve --weights W"));
  EXPECT_TRUE(contains(help.out, "toy eval --weights W --data FILE"));
  EXPECT_TRUE(contains(help.out, "toy train --data FILE --out W.safetensors"));
  // This toy was not compiled with --train: a user error that says so.
  Outcome notTrainable = run({"train", "--data", "x"});
  EXPECT_EQ(notTrainable.status, kExitUserError);
  EXPECT_TRUE(contains(notTrainable.err, "matc compile SPEC --train"))
      << notTrainable.err;

  Outcome unknownFlag = run({"forward", "--weights", weights, "--bogus"});
  EXPECT_EQ(unknownFlag.status, kExitUsage);
  EXPECT_TRUE(contains(unknownFlag.err, "unknown flag --bogus"));
  EXPECT_TRUE(contains(unknownFlag.err, "usage: toy forward"));

  Outcome missing = run({"forward", "--tokens", "1", "--output", "x.npy"});
  EXPECT_EQ(missing.status, kExitUsage);
  EXPECT_TRUE(contains(missing.err, "--weights is required"));

  Outcome both = run({"forward", "--weights", weights, "--tokens", "1",
                      "--text", "a", "--output", tmp.path("x.npy")});
  EXPECT_EQ(both.status, kExitUsage);
  EXPECT_TRUE(contains(both.err, "exactly one of --tokens and --text"));
  EXPECT_EQ(run({"generate", "--weights", weights}).status, kExitUsage);
  EXPECT_EQ(run({"generate", "--weights", weights, "--prompt", "a",
                 "--temperature", "-1"})
                .status,
            kExitUsage);
  EXPECT_TRUE(toyCalls().empty());
}

TEST_F(CommandLineTest, ForwardWritesLogitsAsNpy) {
  std::string output = tmp.path("logits.npy");
  Outcome result = run({"forward", "--weights", weights, "--tokens", "5,6,7",
                        "--output", output});
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  EXPECT_EQ(result.err, "");
  std::string bytes;
  matc::spec::Diagnostics diags;
  ASSERT_TRUE(matc::spec::readFile(output, bytes, diags));
  ASSERT_EQ(bytes.size(), 128u + 3 * 256 * 4); // header padded to 128
  EXPECT_TRUE(contains(bytes.substr(0, 128), "'shape': (3, 256)"));
  std::vector<float> logits(3 * 256);
  std::memcpy(logits.data(), bytes.data() + 128, logits.size() * 4);
  EXPECT_EQ(logits[0 * 256 + 5], 1.0f);
  EXPECT_EQ(logits[1 * 256 + 11], 1.0f);
  EXPECT_EQ(logits[2 * 256 + 18], 1.0f);
  ASSERT_EQ(toyCalls().size(), 1u);
  EXPECT_EQ(toyCalls()[0].numTokens, 3);
  EXPECT_EQ(toyCalls()[0].numLogits, 3); // forward writes every row

  // --text goes through the byte tokenizer.
  Outcome text = run(
      {"forward", "--weights", weights, "--text", "AB", "--output", output});
  ASSERT_EQ(text.status, kExitSuccess) << text.err;
  ASSERT_TRUE(matc::spec::readFile(output, bytes, diags));
  std::memcpy(logits.data(), bytes.data() + 128, 2 * 256 * 4);
  EXPECT_EQ(logits[256 + 'A' + 'B'], 1.0f);
}

TEST_F(CommandLineTest, ForwardUserErrors) {
  std::string output = tmp.path("logits.npy");
  Outcome range = run({"forward", "--weights", weights, "--tokens", "1,300",
                       "--output", output});
  EXPECT_EQ(range.status, kExitUserError);
  EXPECT_TRUE(contains(range.err, "--tokens: token 1 is 300")) << range.err;

  Outcome malformed = run(
      {"forward", "--weights", weights, "--tokens", "1,x", "--output", output});
  EXPECT_EQ(malformed.status, kExitUserError);
  EXPECT_TRUE(contains(malformed.err, "--tokens: entry 1 is 'x'"));

  Outcome tooLong = run({"forward", "--weights", weights, "--text",
                         std::string(17, 'a'), "--output", output});
  EXPECT_EQ(tooLong.status, kExitUserError);
  EXPECT_TRUE(contains(tooLong.err, "--text: 17 tokens, more than the model's "
                                    "max_positions (16)"));

  Outcome empty =
      run({"forward", "--weights", weights, "--text", "", "--output", output});
  EXPECT_EQ(empty.status, kExitUserError);

  Outcome noWeights = run({"forward", "--weights", tmp.path("nope"), "--tokens",
                           "1", "--output", output});
  EXPECT_EQ(noWeights.status, kExitUserError);
  EXPECT_TRUE(contains(noWeights.err, tmp.path("nope")));

  Outcome badDir = run({"forward", "--weights", weights, "--tokens", "1",
                        "--output", tmp.path("no/such/dir.npy")});
  EXPECT_EQ(badDir.status, kExitUserError);

  Outcome mix = run({"forward", "--weights", weights, "--mix", "S", "--tokens",
                     "1", "--output", output});
  EXPECT_EQ(mix.status, kExitUserError);
  EXPECT_TRUE(contains(mix.err, "this binary was compiled for mix 16,16; "
                                "--mix S (2,2) differs"))
      << mix.err;
  EXPECT_TRUE(toyCalls().empty());
  // No output and no temporary left behind: only the weights are there.
  std::vector<std::string> files;
  for (const auto &entry : std::filesystem::directory_iterator(tmp.dir()))
    files.push_back(entry.path().filename().string());
  EXPECT_EQ(files, std::vector<std::string>{"w.safetensors"});
}

TEST_F(CommandLineTest, TextNeedsTheByteTokenizer) {
  std::string manifest = toyManifest("16,16", "F32", 1000);
  std::string bigWeights = tmp.path("big.safetensors");
  ASSERT_TRUE(
      matc::test::writeToyWeights(bigWeights, matc::spec::DType::F32, 1000));
  matc::test::resetToy(1000);
  Outcome text =
      run({"generate", "--weights", bigWeights, "--prompt", "hi"}, manifest);
  EXPECT_EQ(text.status, kExitUserError);
  EXPECT_TRUE(contains(text.err, "--prompt: this model has vocab_size 1000"))
      << text.err;
  EXPECT_TRUE(contains(text.err, "--tokens"));

  // Token ids work, and generated ids are printed since there is no text.
  Outcome ids = run({"generate", "--weights", bigWeights, "--tokens", "600,300",
                     "--max-new-tokens", "2"},
                    manifest);
  ASSERT_EQ(ids.status, kExitSuccess) << ids.err;
  EXPECT_EQ(ids.out, "900,800\n");
}

TEST_F(CommandLineTest, GenerateGreedyText) {
  Outcome result = run({"generate", "--weights", weights, "--prompt",
                        "\x01\x02", "--max-new-tokens", "3"});
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  // Sums: 3, then 6, then 12.
  EXPECT_EQ(result.out, std::string("\x03\x06\x0c"));
  EXPECT_TRUE(contains(result.err, "2 prompt tokens, 3 generated; prefill "))
      << result.err;
  EXPECT_TRUE(contains(result.err, "decode "));

  Outcome ids = run({"generate", "--weights", weights, "--tokens", "1,2",
                     "--max-new-tokens", "3", "--print-tokens"});
  ASSERT_EQ(ids.status, kExitSuccess) << ids.err;
  EXPECT_EQ(ids.out, "3,6,12\n");
}

TEST_F(CommandLineTest, GenerateStopsAtMaxPositionsWithAWarning) {
  Outcome result = run({"generate", "--weights", weights, "--tokens",
                        "1,1,1,1,1,1,1,1,1,1,1,1,1,1", "--print-tokens"});
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out, "14,28\n");
  EXPECT_TRUE(contains(result.err, "warning: generation stopped at "
                                   "max_positions (16)"))
      << result.err;
}

TEST_F(CommandLineTest, GenerateSamplingIsSeeded) {
  std::vector<std::string> args = {
      "generate", "--weights",        weights,  "--tokens",
      "1",        "--max-new-tokens", "6",      "--temperature",
      "1",        "--print-tokens",   "--seed", "3"};
  Outcome first = run(args), second = run(args);
  ASSERT_EQ(first.status, kExitSuccess) << first.err;
  EXPECT_EQ(first.out, second.out);
}

TEST_F(CommandLineTest, GenerateDraftMixNeedsElastic) {
  Outcome result = run(
      {"generate", "--weights", weights, "--prompt", "a", "--draft-mix", "S"});
  EXPECT_EQ(result.status, kExitUserError);
  EXPECT_TRUE(contains(result.err, "--draft-mix: speculative decoding needs "
                                   "a binary compiled with --elastic"));
  EXPECT_TRUE(toyCalls().empty());
}

TEST_F(CommandLineTest, ElasticBinaryAcceptsAnyMix) {
  Outcome result = run({"generate", "--weights", weights, "--mix", "S,skip",
                        "--prompt", "a", "--max-new-tokens", "1"},
                       toyManifest("elastic"));
  EXPECT_EQ(result.status, kExitSuccess) << result.err;
  ASSERT_FALSE(toyCalls().empty());
  EXPECT_EQ(toyCalls().back().layerWidths, (std::vector<int64_t>{2, -1}));

  // Without --mix: the spec's default (XL here).
  ASSERT_EQ(run({"generate", "--weights", weights, "--prompt", "a",
                 "--max-new-tokens", "1"},
                toyManifest("elastic"))
                .status,
            kExitSuccess);
  EXPECT_EQ(toyCalls().back().layerWidths, (std::vector<int64_t>{16, 16}));

  Outcome bad =
      run({"generate", "--weights", weights, "--mix", "17,S", "--prompt", "a"},
          toyManifest("elastic"));
  EXPECT_EQ(bad.status, kExitUserError);
  EXPECT_TRUE(contains(bad.err, "--mix")) << bad.err;
}

TEST_F(CommandLineTest, GenerateWithADraftMixMatchesPlainGreedy) {
  std::vector<std::string> plain = {
      "generate", "--weights",        weights, "--tokens",      "1,2", "--mix",
      "8,8",      "--max-new-tokens", "10",    "--print-tokens"};
  Outcome expected = run(plain, toyManifest("elastic"));
  ASSERT_EQ(expected.status, kExitSuccess) << expected.err;
  for (const char *k : {"1", "4", "6"}) {
    std::vector<std::string> args = plain;
    args.insert(args.end(), {"--draft-mix", "S,S", "--draft-tokens", k});
    Outcome result = run(args, toyManifest("elastic"));
    ASSERT_EQ(result.status, kExitSuccess) << result.err;
    EXPECT_EQ(result.out, expected.out) << "k " << k;
    EXPECT_TRUE(contains(result.err, "speculative decoding with draft mix "
                                     "2,2"))
        << result.err;
    EXPECT_TRUE(contains(result.err, "accepted ")) << result.err;
    EXPECT_TRUE(contains(result.err, "tokens per main-model call"));
    EXPECT_TRUE(contains(result.err, "decode ")) << result.err;
    // The summary ends pointing at the command that measures the speed-up.
    EXPECT_TRUE(contains(result.err,
                         std::string("(measured speed-up: toy bench --weights "
                                     "W --mix 8,8 --draft-mix 2,2 "
                                     "--draft-tokens ") +
                             k + ")\n"))
        << result.err;
  }
  // Text streams as without a draft.
  Outcome text = run({"generate", "--weights", weights, "--prompt", "\x01\x02",
                      "--max-new-tokens", "3", "--draft-mix", "XL"},
                     toyManifest("elastic"));
  Outcome plainText = run({"generate", "--weights", weights, "--prompt",
                           "\x01\x02", "--max-new-tokens", "3"},
                          toyManifest("elastic"));
  ASSERT_EQ(text.status, kExitSuccess) << text.err;
  EXPECT_EQ(text.out, plainText.out);
  EXPECT_TRUE(contains(text.err, "accepted 1 of 1 drafted (100.0%)"))
      << text.err;
}

TEST_F(CommandLineTest, DraftFlagErrors) {
  Outcome tokensAlone = run({"generate", "--weights", weights, "--prompt", "a",
                             "--draft-tokens", "3"},
                            toyManifest("elastic"));
  EXPECT_EQ(tokensAlone.status, kExitUsage);
  EXPECT_TRUE(contains(tokensAlone.err, "--draft-tokens needs --draft-mix"));
  Outcome zero = run({"generate", "--weights", weights, "--prompt", "a",
                      "--draft-mix", "S", "--draft-tokens", "0"},
                     toyManifest("elastic"));
  EXPECT_EQ(zero.status, kExitUsage);
  Outcome badDraft = run({"generate", "--weights", weights, "--prompt", "a",
                          "--draft-mix", "S,S,S"},
                         toyManifest("elastic"));
  EXPECT_EQ(badDraft.status, kExitUserError);
  EXPECT_TRUE(contains(badDraft.err, "--draft-mix")) << badDraft.err;
  for (const char *command : {"generate", "bench"}) {
    std::vector<std::string> args = {command, "--weights", weights,
                                     "--draft-weights", weights};
    if (std::string(command) == "generate")
      args.insert(args.end(), {"--prompt", "a"});
    Outcome weightsAlone = run(args, toyManifest("elastic"));
    EXPECT_EQ(weightsAlone.status, kExitUsage) << command;
    EXPECT_TRUE(contains(weightsAlone.err, "--draft-weights needs --draft-mix"))
        << weightsAlone.err;
  }
  Outcome shareAlone =
      run({"bench", "--weights", weights, "--share-draft-cache"},
          toyManifest("elastic"));
  EXPECT_EQ(shareAlone.status, kExitUsage);
  EXPECT_TRUE(contains(shareAlone.err, "--share-draft-cache needs --draft-mix"))
      << shareAlone.err;
  std::string missing = "/nonexistent-matc-dir/draft.safetensors";
  Outcome missingDraft = run({"generate", "--weights", weights, "--prompt", "a",
                              "--draft-mix", "S", "--draft-weights", missing},
                             toyManifest("elastic"));
  EXPECT_EQ(missingDraft.status, kExitUserError);
  EXPECT_TRUE(contains(missingDraft.err, missing)) << missingDraft.err;
  EXPECT_TRUE(toyCalls().empty());
}

TEST_F(CommandLineTest, BenchOnAnElasticBinaryFollowsTheMix) {
  Outcome result = run({"bench", "--weights", weights, "--mix", "S,skip",
                        "--prompt-len", "4", "--new-tokens", "2"},
                       toyManifest("elastic"));
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  nlohmann::json line =
      nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(line.is_object()) << result.out;
  EXPECT_EQ(line["elastic"], true);
  EXPECT_EQ(line["mix"], "2,skip");
  // One kept layer: attention 192 and FFN 3*8*2 = 48; LM head 2048.
  EXPECT_EQ(line["flops_per_token"], 2 * (192 + 48 + 2048));
  EXPECT_EQ(line["weight_bytes"], 4 * (192 + 48 + 16 + 2048 + 8));
  EXPECT_EQ(toyCalls().back().layerWidths, (std::vector<int64_t>{2, -1}));
}

TEST_F(CommandLineTest, BenchPrintsOneJsonLine) {
  Outcome result = run({"bench", "--weights", weights, "--prompt-len", "8",
                        "--new-tokens", "4"});
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  ASSERT_EQ(result.out.back(), '\n');
  EXPECT_EQ(result.out.find('\n'), result.out.size() - 1); // one line
  nlohmann::json line =
      nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(line.is_object()) << result.out;
  for (const char *key : {"mix", "prompt_len", "new_tokens", "prefill_tok_s",
                          "decode_tok_s", "flops_per_token", "weight_bytes"})
    EXPECT_TRUE(line.contains(key)) << key;
  EXPECT_EQ(line["mix"], "16,16");
  EXPECT_EQ(line["prompt_len"], 8);
  EXPECT_EQ(line["new_tokens"], 4);
  // hidden 8, q 8, k/v 4 each: attention 64+64+64 = 192 per layer; FFN
  // 3*8*16 = 384 per layer; LM head 256*8 = 2048.
  EXPECT_EQ(line["flops_per_token"], 2 * (2 * (192 + 384) + 2048));
  EXPECT_EQ(line["weight_bytes"], 4 * (2 * (192 + 384 + 16) + 2048 + 8));
}

TEST_F(CommandLineTest, BenchRepeatAddsTheMedians) {
  Outcome result = run({"bench", "--weights", weights, "--prompt-len", "8",
                        "--new-tokens", "4", "--repeat", "3"});
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  nlohmann::json line =
      nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(line.is_object()) << result.out;
  EXPECT_EQ(line["repeat"], 3);
  // The rates are the fastest run's, so no median exceeds them.
  EXPECT_LE(line["prefill_tok_s_median"].get<double>(),
            line["prefill_tok_s"].get<double>());
  EXPECT_LE(line["decode_tok_s_median"].get<double>(),
            line["decode_tok_s"].get<double>());
  // One run keeps the line as it was.
  Outcome once = run({"bench", "--weights", weights, "--prompt-len", "8",
                      "--new-tokens", "4", "--repeat", "1"});
  ASSERT_EQ(once.status, kExitSuccess) << once.err;
  EXPECT_FALSE(contains(once.out, "median"));
  EXPECT_FALSE(contains(once.out, "repeat"));
  Outcome none = run({"bench", "--weights", weights, "--repeat", "0"});
  EXPECT_EQ(none.status, kExitUsage);
  EXPECT_TRUE(contains(none.err, "--repeat")) << none.err;
}

TEST_F(CommandLineTest, BenchDefaultsShrinkToTheContext) {
  Outcome result = run({"bench", "--weights", weights});
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  EXPECT_TRUE(contains(result.err, "--prompt-len 8 --new-tokens 8"));
  Outcome tooLong = run({"bench", "--weights", weights, "--prompt-len", "16",
                         "--new-tokens", "1"});
  EXPECT_EQ(tooLong.status, kExitUserError);
  EXPECT_TRUE(contains(tooLong.err, "max_positions (16)"));
}

namespace {

// The one JSON line of a bench run.
nlohmann::json benchLine(const Outcome &result) {
  EXPECT_FALSE(result.out.empty());
  EXPECT_EQ(result.out.find('\n'), result.out.size() - 1) << result.out;
  return nlohmann::json::parse(result.out, nullptr,
                               /*allow_exceptions=*/false);
}

} // namespace

TEST_F(CommandLineTest, BenchWithADraftMixMeasuresTheSpeedUp) {
  Outcome result =
      run({"bench", "--weights", weights, "--mix", "XL", "--draft-mix", "S,S",
           "--prompt-len", "4", "--new-tokens", "8"},
          toyManifest("elastic"));
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  nlohmann::json line = benchLine(result);
  ASSERT_TRUE(line.is_object()) << result.out;
  // The plain keys first, unchanged, then the speculative ones.
  std::vector<std::string> expectedKeys = {"mix",
                                           "prompt_len",
                                           "new_tokens",
                                           "prefill_tok_s",
                                           "decode_tok_s",
                                           "flops_per_token",
                                           "weight_bytes",
                                           "attention_flops_per_token",
                                           "prefill_s",
                                           "decode_s",
                                           "weight_dtype",
                                           "elastic",
                                           "draft_mix",
                                           "draft_tokens",
                                           "shared_draft_cache",
                                           "speculative_decode_tok_s",
                                           "speculative_speedup",
                                           "accept_rate",
                                           "tokens_per_main_call",
                                           "speculative_output_matches"};
  std::vector<std::string> keys;
  nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(
      result.out, nullptr, /*allow_exceptions=*/false);
  for (auto it = ordered.begin(); it != ordered.end(); ++it)
    keys.push_back(it.key());
  EXPECT_EQ(keys, expectedKeys);
  EXPECT_EQ(line["mix"], "16,16");
  EXPECT_EQ(line["new_tokens"], 8);
  EXPECT_EQ(line["draft_mix"], "2,2");
  EXPECT_EQ(line["draft_tokens"], 4);
  EXPECT_EQ(line["speculative_output_matches"], true);
  // Draft 2,2 is wrong at every fourth position: some drafts are rejected.
  EXPECT_GT(line["accept_rate"].get<double>(), 0);
  EXPECT_LT(line["accept_rate"].get<double>(), 1);
  EXPECT_GT(line["tokens_per_main_call"].get<double>(), 1);
  EXPECT_GE(line["speculative_decode_tok_s"].get<double>(), 0);
  EXPECT_GE(line["speculative_speedup"].get<double>(), 0);
  // The last call is the timed speculative run's, with the main mix.
  EXPECT_EQ(toyCalls().back().layerWidths, (std::vector<int64_t>{16, 16}));
}

TEST_F(CommandLineTest, BenchWithTheMainMixAsDraftAcceptsEverything) {
  Outcome result =
      run({"bench", "--weights", weights, "--draft-mix", "XL", "--draft-tokens",
           "3", "--prompt-len", "4", "--new-tokens", "8"},
          toyManifest("elastic"));
  ASSERT_EQ(result.status, kExitSuccess) << result.err;
  nlohmann::json line = benchLine(result);
  ASSERT_TRUE(line.is_object()) << result.out;
  EXPECT_EQ(line["draft_tokens"], 3);
  EXPECT_EQ(line["accept_rate"], 1.0);
  EXPECT_EQ(line["speculative_output_matches"], true);
  // 8 decoded tokens: rounds of 3 drafts and a bonus (4, 4).
  EXPECT_EQ(line["tokens_per_main_call"], 4.0);
}

TEST_F(CommandLineTest, BenchDraftMixNeedsElastic) {
  Outcome result = run({"bench", "--weights", weights, "--draft-mix", "S"});
  EXPECT_EQ(result.status, kExitUserError);
  EXPECT_TRUE(contains(result.err, "--draft-mix: speculative decoding needs "
                                   "a binary compiled with --elastic"))
      << result.err;
  EXPECT_TRUE(result.out.empty());
  EXPECT_TRUE(toyCalls().empty());
}

TEST_F(CommandLineTest, BenchDraftFlagErrors) {
  Outcome alone = run({"bench", "--weights", weights, "--draft-tokens", "3"},
                      toyManifest("elastic"));
  EXPECT_EQ(alone.status, kExitUsage);
  EXPECT_TRUE(contains(alone.err, "--draft-tokens needs --draft-mix"))
      << alone.err;
  for (const char *bad : {"0", "-1", "x", "2147483648"}) {
    Outcome result = run({"bench", "--weights", weights, "--draft-mix", "S",
                          "--draft-tokens", bad},
                         toyManifest("elastic"));
    EXPECT_EQ(result.status, kExitUsage) << bad;
    EXPECT_TRUE(contains(result.err, "--draft-tokens")) << result.err;
  }
  Outcome missing =
      run({"bench", "--weights", weights, "--draft-mix", "S", "--draft-tokens"},
          toyManifest("elastic"));
  EXPECT_EQ(missing.status, kExitUsage);
  Outcome badDraft =
      run({"bench", "--weights", weights, "--draft-mix", "S,S,S"},
          toyManifest("elastic"));
  EXPECT_EQ(badDraft.status, kExitUserError);
  EXPECT_TRUE(contains(badDraft.err, "--draft-mix")) << badDraft.err;
  EXPECT_TRUE(toyCalls().empty());
}

TEST_F(CommandLineTest, BenchWithADraftMixLeavesRoomForTheLastToken) {
  // Generation never samples past max_positions, plain bench's last token
  // does: the defaults shrink one further, explicit values must fit.
  Outcome shrunk = run({"bench", "--weights", weights, "--draft-mix", "S,S"},
                       toyManifest("elastic"));
  ASSERT_EQ(shrunk.status, kExitSuccess) << shrunk.err;
  EXPECT_TRUE(contains(shrunk.err, "--prompt-len 8 --new-tokens 7"))
      << shrunk.err;
  EXPECT_EQ(benchLine(shrunk)["speculative_output_matches"], true);
  Outcome full = run({"bench", "--weights", weights, "--draft-mix", "S,S",
                      "--prompt-len", "8", "--new-tokens", "8"},
                     toyManifest("elastic"));
  EXPECT_EQ(full.status, kExitUserError);
  EXPECT_TRUE(contains(full.err, "must stay below the model's max_positions "
                                 "(16) with --draft-mix"))
      << full.err;
  Outcome fits = run({"bench", "--weights", weights, "--draft-mix", "S,S",
                      "--prompt-len", "8", "--new-tokens", "7"},
                     toyManifest("elastic"));
  EXPECT_EQ(fits.status, kExitSuccess) << fits.err;
}

namespace {

// The toy forward, except that a call of several tokens after position 0
// (speculative decoding's verify call) predicts one more at every row: a
// forward function whose rows depend on the batch.
void batchSensitiveForward(int64_t numTokens, int64_t startPos,
                           int64_t numLogits, const int32_t *tokens,
                           float *logits, float *kCache, float *vCache,
                           const int64_t *layerWidths, void *const *weights) {
  matc::test::toyForward(numTokens, startPos, numLogits, tokens, logits,
                         kCache, vCache, layerWidths, weights);
  if (numTokens < 2 || startPos == 0)
    return;
  int64_t vocab = matc::test::toyVocab();
  for (int64_t i = 0; i < numLogits; ++i) {
    float *row = logits + i * vocab;
    std::rotate(row, row + vocab - 1, row + vocab);
  }
}

} // namespace

TEST_F(CommandLineTest, BenchReportsSpeculativeOutputThatDiffers) {
  std::string manifest = toyManifest("elastic");
  CapturedStream out, err;
  int status = runCommandLine(
      {"bench", "--weights", weights, "--draft-mix", "XL", "--prompt-len", "4",
       "--new-tokens", "4"},
      "toy", CompiledModel{manifest.c_str(), batchSensitiveForward},
      Console{out.get(), err.get()});
  EXPECT_EQ(status, kExitUserError);
  // The line is still printed, saying so.
  nlohmann::json line = nlohmann::json::parse(out.contents(), nullptr,
                                              /*allow_exceptions=*/false);
  ASSERT_TRUE(line.is_object()) << out.contents();
  EXPECT_EQ(line["speculative_output_matches"], false);
  EXPECT_TRUE(contains(err.contents(),
                       "--draft-mix: speculative greedy decoding made other "
                       "tokens than plain greedy decoding (token 1: "))
      << err.contents();
  EXPECT_TRUE(contains(err.contents(), "this is a bug")) << err.contents();
}

TEST_F(CommandLineTest, BrokenManifestIsReported) {
  Outcome result = run({"bench", "--weights", weights}, "{\"matc_abi\": 3}");
  EXPECT_EQ(result.status, kExitUserError);
  EXPECT_TRUE(contains(result.err, "compiled model manifest: config: missing"))
      << result.err;
  // A binary of the previous ABI is refused before anything else.
  Outcome old = run({"bench", "--weights", weights}, "{\"matc_abi\": 2}");
  EXPECT_EQ(old.status, kExitUserError);
  EXPECT_TRUE(contains(old.err, "compiled model manifest: matc_abi: this "
                                "runtime implements ABI 3, the compiled "
                                "model uses 2"))
      << old.err;
  EXPECT_FALSE(contains(old.err, "config")) << old.err;
}

#include "matrt/ServeRequest.h"

#include "CommandTestSupport.h"
#include "TempDir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <unistd.h>

using namespace matrt;
using matc::test::contains;
using matc::test::lines;
using matc::test::Outcome;
using matc::test::runToyCommand;
using matc::test::TempDir;
using matc::test::toyCalls;
using matc::test::toyManifest;
using Json = nlohmann::json;

namespace {

ServeRequest parsedRequest(const std::string &line) {
  ServeRequest request;
  std::string error;
  EXPECT_TRUE(parseServeRequest(line, request, error)) << error;
  return request;
}

std::string requestError(const std::string &line) {
  ServeRequest request;
  std::string error;
  EXPECT_FALSE(parseServeRequest(line, request, error)) << line;
  return error;
}

} // namespace

TEST(ServeRequestTest, ParsesEveryField) {
  ServeRequest request = parsedRequest(
      R"({"id": "a1", "prompt": "hi", "mix": "S,M", "max_new_tokens": 5,
          "temperature": 0.5, "top_k": 3, "seed": 18446744073709551615,
          "draft_mix": {"ffn_hidden_dims": [2, 2]}, "draft_tokens": 2})");
  EXPECT_EQ(request.idJson, "\"a1\"");
  EXPECT_EQ(request.prompt, std::optional<std::string>("hi"));
  EXPECT_FALSE(request.tokens);
  EXPECT_EQ(request.mixText, std::optional<std::string>("S,M"));
  EXPECT_EQ(request.options.maxNewTokens, 5);
  EXPECT_EQ(request.options.sampling.temperature, 0.5);
  EXPECT_EQ(request.options.sampling.topK, 3);
  EXPECT_EQ(request.options.sampling.seed, UINT64_MAX);
  ASSERT_TRUE(request.draftMixText);
  EXPECT_TRUE(contains(*request.draftMixText, "ffn_hidden_dims"));
  EXPECT_EQ(request.draftTokens, 2);
  EXPECT_TRUE(request.warnings.empty());

  ServeRequest defaults = parsedRequest(R"({"tokens": [1, 2], "mix": null})");
  EXPECT_EQ(defaults.tokens, (std::optional<std::vector<int32_t>>{{1, 2}}));
  EXPECT_FALSE(defaults.mixText); // null is absent
  EXPECT_EQ(defaults.idJson, "");
  EXPECT_EQ(defaults.options.maxNewTokens, 32);
  EXPECT_EQ(defaults.options.sampling.temperature, 0);
  EXPECT_EQ(defaults.draftTokens, kDefaultDraftTokens);

  ServeRequest unknown = parsedRequest(R"({"prompt": "x", "stream": true})");
  ASSERT_EQ(unknown.warnings.size(), 1u);
  EXPECT_EQ(unknown.warnings[0], "unknown field 'stream' ignored");
}

TEST(ServeRequestTest, ErrorsNameTheProblem) {
  EXPECT_TRUE(contains(requestError("{\"prompt\": "), "malformed JSON"));
  EXPECT_TRUE(contains(requestError("{\"prompt\" \"x\"}"), "column"));
  EXPECT_TRUE(contains(requestError("[1, 2]"), "expected a JSON object"));
  EXPECT_EQ(requestError("{}"),
            "give exactly one of the fields 'prompt' and 'tokens'");
  EXPECT_TRUE(contains(requestError(R"({"prompt": "a", "tokens": [1]})"),
                       "exactly one"));
  EXPECT_EQ(requestError(R"({"prompt": 5})"),
            "field 'prompt': expected a string, got 5");
  EXPECT_TRUE(contains(requestError(R"({"tokens": [1, "2"]})"),
                       "field 'tokens': expected integer token ids; entry 1"));
  EXPECT_TRUE(contains(requestError(R"({"tokens": 3})"),
                       "field 'tokens': expected an array"));
  EXPECT_EQ(requestError(R"({"prompt": "a", "top_k": -1})"),
            "field 'top_k': expected an integer from 0 to 2147483647, got -1");
  EXPECT_TRUE(
      contains(requestError(R"({"prompt": "a", "max_new_tokens": 1.5})"),
               "field 'max_new_tokens'"));
  EXPECT_TRUE(contains(requestError(R"({"prompt": "a", "temperature": "hot"})"),
                       "field 'temperature': expected a number >= 0"));
  EXPECT_TRUE(
      contains(requestError(R"({"prompt": "a", "seed": -3})"), "field 'seed'"));
  EXPECT_TRUE(contains(requestError(R"({"prompt": "a", "mix": 7})"),
                       "field 'mix': expected a MIX"));
  EXPECT_TRUE(contains(requestError(R"({"prompt": "a", "draft_mix": ""})"),
                       "field 'draft_mix'"));
  EXPECT_TRUE(contains(requestError(R"({"prompt": "a", "draft_tokens": 0})"),
                       "field 'draft_tokens'"));
  // The id is kept for the error reply.
  ServeRequest request;
  std::string error;
  EXPECT_FALSE(parseServeRequest(R"({"id": 7, "top_k": "x"})", request, error));
  EXPECT_EQ(request.idJson, "7");
}

namespace {

class ServeCommandTest : public ::testing::Test {
protected:
  void SetUp() override {
    matc::test::resetToy();
    weights = tmp.path("w.safetensors");
    ASSERT_TRUE(matc::test::writeToyWeights(weights));
  }

  // Runs serve over `input` and parses every stdout line as JSON.
  std::vector<Json> serve(const std::string &input,
                          const std::string &manifest = toyManifest(),
                          std::vector<std::string> extraArgs = {}) {
    std::vector<std::string> args = {"serve", "--weights", weights};
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    outcome = runToyCommand(args, manifest, input);
    EXPECT_EQ(outcome.status, kExitSuccess) << outcome.err;
    std::vector<Json> replies;
    for (const std::string &line : lines(outcome.out)) {
      replies.push_back(Json::parse(line, nullptr, false));
      EXPECT_TRUE(replies.back().is_object()) << line;
    }
    return replies;
  }

  TempDir tmp;
  std::string weights;
  Outcome outcome;
};

} // namespace

TEST_F(ServeCommandTest, AnswersEachRequestOnItsLine) {
  std::vector<Json> replies = serve(
      "{\"id\": 1, \"prompt\": \"\\u0001\\u0002\", "
      "\"max_new_tokens\": 3}\n"
      "\n"
      "   \n"
      "{\"tokens\": [1, 2], \"max_new_tokens\": 2, \"id\": {\"k\": [1]}}");
  ASSERT_EQ(replies.size(), 2u); // blank lines are skipped, EOF ends
  const Json &first = replies[0];
  EXPECT_EQ(first["id"], 1);
  EXPECT_EQ(first["mix"], "16,16");
  EXPECT_EQ(first["tokens"], Json({3, 6, 12})); // as generate prints
  EXPECT_EQ(first["text"], "\x03\x06\x0c");
  EXPECT_EQ(first["prompt_tokens"], 2);
  EXPECT_TRUE(first["prefill_tok_s"].is_number());
  EXPECT_TRUE(first["decode_tok_s"].is_number());
  EXPECT_FALSE(first.contains("accept_rate"));
  EXPECT_FALSE(first.contains("warnings"));
  EXPECT_EQ(replies[1]["id"], Json({{"k", {1}}}));
  EXPECT_EQ(replies[1]["tokens"], Json({3, 6}));
  // Each request starts a new sequence.
  EXPECT_EQ(toyCalls()[3].startPos, 0);
  EXPECT_TRUE(contains(outcome.err, "2 requests, 0 failed")) << outcome.err;
}

TEST_F(ServeCommandTest, BadRequestsGetErrorRepliesAndServingGoesOn) {
  std::vector<Json> replies =
      serve("{\"id\": \"a\", \"prompt\": \"x\"\n"                  // malformed
            "{\"id\": \"b\", \"prompt\": \"x\", \"mix\": \"Q\"}\n" // bad mix
            "{\"id\": \"c\", \"prompt\": \"x\", \"mix\": \"S\"}\n" // not this
                                                                   // binary's
            "{\"id\": \"d\", \"tokens\": [1, 256]}\n" // out of vocabulary
            "{\"id\": \"e\", \"prompt\": \"\"}\n"     // empty
            "{\"id\": \"f\", \"prompt\": \"x\", \"draft_mix\": \"S\"}\n"
            "{\"id\": \"g\", \"tokens\": [1], \"max_new_tokens\": 1, "
            "\"colour\": \"red\"}\n");
  ASSERT_EQ(replies.size(), 7u);
  EXPECT_EQ(replies[0]["id"], nullptr); // not parsed, so not known
  EXPECT_TRUE(contains(replies[0]["error"], "malformed JSON"));
  EXPECT_EQ(replies[1]["id"], "b");
  EXPECT_TRUE(contains(replies[1]["error"], "field 'mix': ")) << replies[1];
  EXPECT_TRUE(contains(replies[1]["error"], "Q"));
  EXPECT_TRUE(contains(replies[2]["error"],
                       "field 'mix': this binary was compiled for mix 16,16; "
                       "S (2,2) differs"))
      << replies[2];
  EXPECT_TRUE(contains(replies[3]["error"],
                       "field 'tokens': token 1 is 256, outside the "
                       "vocabulary"))
      << replies[3];
  EXPECT_TRUE(contains(replies[4]["error"], "field 'prompt': empty"));
  EXPECT_TRUE(contains(replies[5]["error"],
                       "field 'draft_mix': speculative decoding needs a "
                       "binary compiled with --elastic"));
  for (int i = 0; i < 6; ++i) {
    EXPECT_FALSE(replies[i].contains("tokens")) << replies[i];
    EXPECT_EQ(replies[i].size(), 2u) << replies[i]; // id and error only
  }
  // The unknown field is a warning; the request is answered.
  EXPECT_EQ(replies[6]["id"], "g");
  EXPECT_EQ(replies[6]["tokens"], Json({1}));
  EXPECT_EQ(replies[6]["warnings"], Json({"unknown field 'colour' ignored"}));
  EXPECT_TRUE(contains(outcome.err, "7 requests, 6 failed"));
}

TEST_F(ServeCommandTest, ElasticBinarySwitchesMixPerRequest) {
  std::vector<Json> replies =
      serve("{\"tokens\": [1, 2], \"max_new_tokens\": 4}\n"
            "{\"tokens\": [1, 2], \"max_new_tokens\": 4, \"mix\": \"15,XL\"}\n"
            "{\"tokens\": [1, 2], \"max_new_tokens\": 4, \"mix\": \"bad\"}\n"
            "{\"tokens\": [1, 2], \"max_new_tokens\": 4, "
            "\"mix\": {\"ffn_hidden_dims\": [16, 16]}}\n",
            toyManifest("elastic"));
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0]["mix"], "16,16");
  EXPECT_EQ(replies[1]["mix"], "15,16");
  // 15,16 is one more than the full model at every other position.
  EXPECT_NE(replies[1]["tokens"], replies[0]["tokens"]);
  EXPECT_TRUE(contains(replies[1]["warnings"][0], "not a trained granularity"))
      << replies[1];
  EXPECT_TRUE(replies[2].contains("error"));
  EXPECT_EQ(replies[3]["mix"], "16,16");
  EXPECT_EQ(replies[3]["tokens"], replies[0]["tokens"]);
  EXPECT_EQ(toyCalls().back().layerWidths, (std::vector<int64_t>{16, 16}));
}

TEST_F(ServeCommandTest, DraftMixDecodesSpeculatively) {
  std::vector<Json> replies =
      serve("{\"tokens\": [1, 2], \"max_new_tokens\": 9, \"mix\": \"8,8\"}\n"
            "{\"tokens\": [1, 2], \"max_new_tokens\": 9, \"mix\": \"8,8\", "
            "\"draft_mix\": \"S,S\", \"draft_tokens\": 3}\n"
            "{\"tokens\": [1, 2], \"max_new_tokens\": 9, \"mix\": \"8,8\", "
            "\"draft_mix\": \"8,8\"}\n",
            toyManifest("elastic"));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1]["tokens"], replies[0]["tokens"]); // greedy: identical
  EXPECT_EQ(replies[2]["tokens"], replies[0]["tokens"]);
  EXPECT_EQ(replies[1]["draft_mix"], "2,2");
  double rate = replies[1]["accept_rate"];
  EXPECT_GT(rate, 0.0);
  EXPECT_LT(rate, 1.0);
  EXPECT_EQ(replies[2]["accept_rate"], 1.0);
  EXPECT_FALSE(replies[0].contains("accept_rate"));
}

TEST_F(ServeCommandTest, ServerMixFlagAndMaxPositions) {
  std::vector<Json> replies =
      serve("{\"prompt\": \"aaaaaaaaaaaaaa\", \"max_new_tokens\": 5}\n",
            toyManifest("elastic"), {"--mix", "S"});
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0]["mix"], "2,2");
  EXPECT_EQ(replies[0]["tokens"].size(), 2u);
  EXPECT_TRUE(contains(replies[0]["warnings"][0],
                       "generation stopped at max_positions (16)"));
}

TEST_F(ServeCommandTest, TextThatIsNotUtf8IsReplaced) {
  // The toy predicts the byte sum: 0x7f + 0x7f = 0xfe, then 0x1fc % 256.
  std::vector<Json> replies =
      serve("{\"tokens\": [127, 127], \"max_new_tokens\": 2}\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0]["tokens"], Json({254, 252}));
  EXPECT_EQ(replies[0]["text"], "\xef\xbf\xbd\xef\xbf\xbd"); // U+FFFD twice
}

TEST_F(ServeCommandTest, StartUpErrorsEndTheServer) {
  Outcome noWeights = runToyCommand({"serve", "--weights", tmp.path("nope")},
                                    toyManifest(), "{\"prompt\": \"a\"}\n");
  EXPECT_EQ(noWeights.status, kExitUserError);
  EXPECT_EQ(noWeights.out, "");
  Outcome badMix = runToyCommand({"serve", "--weights", weights, "--mix", "S"});
  EXPECT_EQ(badMix.status, kExitUserError);
  EXPECT_TRUE(contains(badMix.err, "--mix S (2,2) differs"));
  EXPECT_EQ(runToyCommand({"serve"}).status, kExitUsage);
  Outcome empty = runToyCommand({"serve", "--weights", weights});
  EXPECT_EQ(empty.status, kExitSuccess);
  EXPECT_EQ(empty.out, "");
}

// Hostile clients (README.md, Hostile inputs): every bad line gets an error
// reply naming the problem, and the next good request is answered.
TEST_F(ServeCommandTest, HostileLinesGetErrorRepliesAndServingGoesOn) {
  const std::string good = "{\"id\": \"ok\", \"tokens\": [1], "
                           "\"max_new_tokens\": 1}\n";
  struct Case {
    std::string line, error;
  };
  std::vector<Case> cases = {
      {std::string("\x00\xff\xfe\x01garbage\x7f", 13), "malformed JSON"},
      {"{\"id\": 1, \"prompt\": \"\xff\xfe\xc3\"}", "malformed JSON"},
      {"{\"id\": 2, \"prompt\": \"a\xc3\"}", "malformed JSON"},
      {"{\"id\": 3, \"tokens\": [1], \"max_new_tokens\": 1e999}",
       "malformed JSON: number overflow parsing '1e999'"},
      {"{\"id\": 4, \"tokens\": [1], \"seed\": 99999999999999999999999}",
       "field 'seed'"},
      {"{\"id\": 5, \"tokens\": [99999999999999999999]}", "field 'tokens'"},
      {"{\"id\": 6, \"tokens\": [1], \"max_new_tokens\": 9223372036854775807}",
       "field 'max_new_tokens'"},
      {"{\"id\": 7, \"tokens\": [1], \"temperature\": -1e308}",
       "field 'temperature'"},
      // Wrong types, field by field.
      {"{\"prompt\": 5}", "field 'prompt'"},
      {"{\"tokens\": \"1 2\"}", "field 'tokens'"},
      {"{\"tokens\": [1.5]}", "field 'tokens'"},
      {"{\"tokens\": [1], \"mix\": 3}", "field 'mix'"},
      {"{\"tokens\": [1], \"mix\": \"\"}", "field 'mix'"},
      {"{\"tokens\": [1], \"draft_mix\": []}", "field 'draft_mix'"},
      {"{\"tokens\": [1], \"max_new_tokens\": \"1\"}",
       "field 'max_new_tokens'"},
      {"{\"tokens\": [1], \"temperature\": \"hot\"}", "field 'temperature'"},
      {"{\"tokens\": [1], \"top_k\": 1.5}", "field 'top_k'"},
      {"{\"tokens\": [1], \"seed\": -1}", "field 'seed'"},
      {"{\"tokens\": [1], \"draft_tokens\": true}", "field 'draft_tokens'"},
      {"{\"tokens\": [1], \"mix\": {\"ffn_hidden_dims\": \"x\"}}",
       "field 'mix'"},
      // The server's files are not the client's to read.
      {"{\"tokens\": [1], \"mix\": \"@/etc/passwd\"}",
       "field 'mix': '@file' is not accepted in a request"},
      {"{\"tokens\": [1], \"draft_mix\": \"@mix.json\"}",
       "field 'draft_mix': '@file' is not accepted"},
      {"[\"tokens\", 1]", "expected a JSON object"},
      {"\"just a string\"", "expected a JSON object"},
      {"{\"id\": 8}", "exactly one of the fields 'prompt' and 'tokens'"},
      // A mix this static binary cannot run, and a draft it cannot make.
      {"{\"tokens\": [1], \"mix\": \"8,8\"}", "compiled for mix 16,16"},
      {"{\"tokens\": [1], \"draft_mix\": \"S\"}", "--elastic"},
      // Beyond the context: max_positions is 16.
      {"{\"tokens\": [1], \"max_new_tokens\": 17}",
       "field 'max_new_tokens': 17 is beyond the model's context"},
      {"{\"tokens\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}",
       "more than the model's max_positions (16)"},
      // Longer than the line limit (the rest of the line is dropped).
      {"{\"prompt\": \"" + std::string(kMaxServeLineBytes, 'a') + "\"}",
       "request line longer than the limit of 1048576 bytes"},
  };
  std::string input;
  for (const Case &c : cases)
    input += c.line + "\n" + good;
  // An empty line is skipped; unknown fields are warnings.
  input += "\n\r\n{\"id\": \"u\", \"tokens\": [1], \"max_new_tokens\": 1, "
           "\"colour\": [{}], \"\xce\xbb\": 1}\n";
  // A final line without its newline is still a request.
  input += "{\"id\": \"last\", \"tokens\": [2], \"max_new_tokens\": 1}";
  std::vector<Json> replies = serve(input);
  ASSERT_EQ(replies.size(), 2 * cases.size() + 2) << outcome.err;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Json &bad = replies[2 * i];
    ASSERT_TRUE(bad.contains("error")) << i << ": " << bad;
    EXPECT_TRUE(contains(bad["error"], cases[i].error))
        << i << ": " << bad["error"] << " lacks " << cases[i].error;
    EXPECT_EQ(bad.size(), 2u) << bad; // id and error only
    const Json &next = replies[2 * i + 1];
    EXPECT_EQ(next["id"], "ok") << i;
    EXPECT_EQ(next["tokens"], Json({1})) << i; // the toy predicts the sum
  }
  const Json &unknown = replies[2 * cases.size()];
  EXPECT_EQ(unknown["tokens"], Json({1}));
  EXPECT_EQ(unknown["warnings"].size(), 2u) << unknown;
  EXPECT_EQ(replies.back()["id"], "last");
  EXPECT_EQ(replies.back()["tokens"], Json({2}));
}

TEST_F(ServeCommandTest, ClosedOutputEndsTheServerCleanly) {
  // A client that closed its end of stdout: the first reply fails with
  // EPIPE (SIGPIPE is ignored), and serve stops with exit 1 and a message.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  std::FILE *out = ::fdopen(fds[1], "w");
  matc::test::CapturedStream err, in;
  std::string input = "{\"tokens\": [1], \"max_new_tokens\": 1}\n"
                      "{\"tokens\": [1], \"max_new_tokens\": 1}\n";
  std::fwrite(input.data(), 1, input.size(), in.get());
  std::rewind(in.get());
  int status = matrt::runCommandLine(
      {"serve", "--weights", weights}, "toy",
      matc::test::toyModel(toyManifest()),
      matrt::Console{out, err.get(), in.get()});
  std::fclose(out);
  EXPECT_EQ(status, kExitUserError);
  EXPECT_TRUE(contains(err.contents(), "serve: cannot write replies"))
      << err.contents();
  EXPECT_TRUE(contains(err.contents(), "stopping after 1 requests"))
      << err.contents();
}

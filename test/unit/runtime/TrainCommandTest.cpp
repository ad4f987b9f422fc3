// `OUT train` on the toy training model: flags, every bad input, the
// progress line, --init, and --resume's bit-identity.

#include "CommandTestSupport.h"
#include "TempDir.h"
#include "TrainingTestSupport.h"

#include "matc/spec/FileIO.h"
#include "matc/spec/InitialWeights.h"
#include "matrt/CommandLine.h"
#include "matrt/TrainingCheckpoint.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::test::contains;
using matc::test::lines;
using matc::test::Outcome;
using matc::test::TempDir;

namespace {

class TrainCommandTest : public ::testing::Test {
protected:
  void SetUp() override {
    matc::test::resetToy();
    matc::test::toyTrainStepCalls() = 0;
    ASSERT_TRUE(tmp.valid());
    data = tmp.path("corpus.txt");
    write(data, matc::test::toyCorpus(2000));
    out = tmp.path("w.safetensors");
  }
  void TearDown() override {
    EXPECT_FALSE(matc::test::toyPreconditionViolated());
  }

  void write(const std::string &path, const std::string &bytes) {
    Diagnostics diags;
    ASSERT_TRUE(matc::spec::writeFileAtomically(path, bytes, diags));
  }
  std::string read(const std::string &path) {
    std::string bytes;
    Diagnostics diags;
    matc::spec::readFile(path, bytes, diags);
    return bytes;
  }

  Outcome run(const std::vector<std::string> &args,
              const std::string &manifest = matc::test::toyTrainManifest()) {
    return runWith(args, matc::test::toyTrainModel(manifest));
  }
  Outcome runWith(const std::vector<std::string> &args,
                  const CompiledModel &model) {
    matc::test::CapturedStream outStream, errStream, inStream;
    Outcome result;
    result.status = runCommandLine(
        args, "toy", model,
        Console{outStream.get(), errStream.get(), inStream.get()});
    result.out = outStream.contents();
    result.err = errStream.contents();
    return result;
  }
  // A short run's flags (a small batch, windows of 8 of the toy's 16
  // positions), with `extra` added or replacing them.
  std::vector<std::string> trainArgs(std::vector<std::string> extra) {
    std::vector<std::string> args = {"train", "--data", data, "--out", out};
    const std::vector<std::pair<std::string, std::string>> defaults = {
        {"--batch", "2"},
        {"--seq-len", "8"},
        {"--lr", "0.02"},
        {"--seed", "5"}};
    for (const auto &[flag, value] : defaults)
      if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
        args.push_back(flag);
        args.push_back(value);
      }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // Exit 1 with every fragment in stderr.
  void expectUserError(const Outcome &outcome,
                       std::initializer_list<std::string> fragments) {
    EXPECT_EQ(outcome.status, kExitUserError) << outcome.err;
    for (const std::string &fragment : fragments)
      EXPECT_TRUE(contains(outcome.err, fragment))
          << "'" << fragment << "' not in:\n"
          << outcome.err;
  }

  TempDir tmp;
  std::string data, out;
};

} // namespace

TEST_F(TrainCommandTest, TrainsAndWritesLoadableCheckpoints) {
  Outcome outcome = run(
      trainArgs({"--steps", "30", "--eval-every", "15", "--log-every", "10"}));
  ASSERT_EQ(outcome.status, kExitSuccess) << outcome.err;
  // stdout: one JSON line per evaluation, then the summary.
  std::vector<std::string> outLines = lines(outcome.out);
  ASSERT_EQ(outLines.size(), 3u) << outcome.out;
  nlohmann::json first = nlohmann::json::parse(outLines[0]);
  nlohmann::json second = nlohmann::json::parse(outLines[1]);
  nlohmann::json summary = nlohmann::json::parse(outLines[2]);
  EXPECT_EQ(first["step"], 15);
  EXPECT_EQ(second["step"], 30);
  for (const char *name : {"S", "M", "L", "XL"}) {
    EXPECT_LT(second["loss"][name].get<double>(),
              first["loss"][name].get<double>())
        << name;
    EXPECT_TRUE(summary["train_loss"][name].is_number());
  }
  EXPECT_EQ(summary["step"], 30);
  EXPECT_EQ(summary["weights"], out);
  EXPECT_EQ(summary["state"], out + ".optim");

  // stderr: the plan, three progress lines (steps 10, 20, 30), the
  // evaluations and the checkpoint.
  EXPECT_TRUE(contains(outcome.err, "train: steps 1..30, batch 2 x 8 bytes"))
      << outcome.err;
  std::regex progress(R"(^step (\d+)/30 \| \d+ tok/s \| loss S \d+\.\d{4} )"
                      R"(M \d+\.\d{4} L \d+\.\d{4} XL \d+\.\d{4} \| lr )"
                      R"(\d\.\d\de[-+]\d\d \| ETA \S+$)");
  std::vector<std::string> steps;
  for (const std::string &line : lines(outcome.err)) {
    std::smatch match;
    if (std::regex_match(line, match, progress))
      steps.push_back(match[1]);
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"10", "20", "30"})) << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "eval step 15: held-out loss S "));
  EXPECT_TRUE(contains(outcome.err, "(25 windows of 8 bytes)")) << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "checkpoint step 30: " + out));

  // The result is an ordinary checkpoint: `eval` loads it, scores the same
  // held-out windows with the same generated loss, and agrees exactly.
  Outcome eval = run({"eval", "--weights", out, "--data", data, "--seq-len",
                      "8", "--mix", "XL"});
  ASSERT_EQ(eval.status, kExitSuccess) << eval.err;
  nlohmann::json scored = nlohmann::json::parse(lines(eval.out).back());
  EXPECT_EQ(scored["loss"].get<double>(), second["loss"]["XL"].get<double>());
  EXPECT_EQ(scored["windows"], 25);
  EXPECT_TRUE(std::filesystem::exists(out + ".optim"));
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
}

TEST_F(TrainCommandTest, ResumeIsBitIdentical) {
  std::string once = tmp.path("once.safetensors");
  Outcome whole = run({"train", "--data", data, "--out", once, "--batch", "2",
                       "--seq-len", "8", "--lr", "0.02", "--seed", "5",
                       "--steps", "12", "--sampling", "0.1,0.2,0.3,0.4"});
  ASSERT_EQ(whole.status, kExitSuccess) << whole.err;

  // The same schedule (12 steps), stopped after 5, resumed for 7; the
  // second part saves every 2 steps on the way.
  Outcome part1 = run(trainArgs({"--steps", "5", "--schedule-steps", "12",
                                 "--sampling", "0.1,0.2,0.3,0.4"}));
  ASSERT_EQ(part1.status, kExitSuccess) << part1.err;
  EXPECT_NE(read(out), read(once));
  Outcome part2 = run({"train", "--data", data, "--out", out, "--resume",
                       "--steps", "7", "--save-every", "2"});
  ASSERT_EQ(part2.status, kExitSuccess) << part2.err;
  EXPECT_TRUE(contains(part2.err, "train: steps 6..12")) << part2.err;
  EXPECT_FALSE(contains(part2.err, "note:")) << part2.err;
  EXPECT_EQ(read(out), read(once));
  EXPECT_EQ(read(out + ".optim"), read(once + ".optim"));

  // Without --steps, --resume goes on to the end of the schedule; at its
  // end there is nothing left to do.
  Outcome done = run({"train", "--data", data, "--out", out, "--resume"});
  expectUserError(done, {"at step 12", "where its schedule ends", "--steps N"});
  // A flag given again replaces the stored setting, with a note.
  Outcome more = run({"train", "--data", data, "--out", out, "--resume",
                      "--steps", "1", "--lr", "0.01"});
  EXPECT_EQ(more.status, kExitSuccess) << more.err;
  EXPECT_TRUE(contains(more.err, "note: --lr 0.01 replaces the checkpoint's"))
      << more.err;
}

TEST_F(TrainCommandTest, WithoutInitStartsFromMatcInitWeights) {
  // --init with the weights `matc init --seed 5` writes equals no --init
  // with --seed 5 (the seed also drives the batches).
  Diagnostics diags;
  std::optional<matc::spec::ModelSpec> spec =
      matc::spec::parseModelSpec(matc::test::toyConfig().dump(), diags);
  ASSERT_TRUE(spec);
  spec->tieWordEmbeddings = false;
  std::string init = tmp.path("init.safetensors");
  ASSERT_TRUE(matc::spec::writeInitialWeights(*spec, init, 5,
                                              matc::spec::DType::F32, diags))
      << diags.str();
  Outcome fromInit = run(trainArgs({"--steps", "3", "--init", init}));
  ASSERT_EQ(fromInit.status, kExitSuccess) << fromInit.err;
  std::string trained = read(out);
  Outcome fromSeed = run(trainArgs({"--steps", "3"}));
  ASSERT_EQ(fromSeed.status, kExitSuccess) << fromSeed.err;
  EXPECT_EQ(read(out), trained);
  // A BF16 --init is converted, with the usual warning.
  std::string bf16 = tmp.path("init-bf16.safetensors");
  ASSERT_TRUE(matc::spec::writeInitialWeights(*spec, bf16, 5,
                                              matc::spec::DType::BF16, diags));
  Outcome fromBf16 = run(trainArgs({"--steps", "1", "--init", bf16}));
  EXPECT_EQ(fromBf16.status, kExitSuccess) << fromBf16.err;
  EXPECT_TRUE(contains(fromBf16.err, "converted")) << fromBf16.err;
}

TEST_F(TrainCommandTest, SamplingShowsTheGranularitiesTrained) {
  Outcome outcome = run(
      trainArgs({"--steps", "4", "--log-every", "4", "--sampling", "0,0,0,1"}));
  ASSERT_EQ(outcome.status, kExitSuccess) << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "one granularity per step, probabilities "
                                    "0,0,0,1"))
      << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "loss S - M - L - XL ")) << outcome.err;
  nlohmann::json summary = nlohmann::json::parse(lines(outcome.out).back());
  EXPECT_TRUE(summary["train_loss"]["S"].is_null());
  EXPECT_TRUE(summary["train_loss"]["XL"].is_number());
}

TEST_F(TrainCommandTest, SpecDefaultsForTheJointLoss) {
  // The spec's matformer block gives the sampling and the loss weights.
  nlohmann::ordered_json manifest =
      nlohmann::ordered_json::parse(matc::test::toyTrainManifest());
  manifest["config"]["matformer"] = {{"loss_weights", {0, 0, 1, 3}},
                                     {"sampling", "all"}};
  Outcome outcome = run(trainArgs({"--steps", "1"}), manifest.dump());
  ASSERT_EQ(outcome.status, kExitSuccess) << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "all granularities, loss weights 0,0,1,3"))
      << outcome.err;
  EXPECT_TRUE(contains(outcome.err, "loss S - M - L ")) << outcome.err;
  manifest["config"]["matformer"] = {{"sampling", {0.5, 0.5, 0, 0}}};
  outcome = run(trainArgs({"--steps", "1"}), manifest.dump());
  EXPECT_TRUE(contains(outcome.err, "probabilities 0.5,0.5,0,0"))
      << outcome.err;
}

TEST_F(TrainCommandTest, NotATrainingBinary) {
  // No "train" in the manifest: exit 1, saying how to get one.
  expectUserError(
      run(trainArgs({}), matc::test::toyTrainManifest(/*train=*/false)),
      {"not compiled for training", "matc compile SPEC --train"});
  // "train": true but the entry points missing: a broken binary.
  std::string manifest = matc::test::toyTrainManifest();
  CompiledModel model = matc::test::toyTrainModel(manifest);
  model.adamwStep = nullptr;
  expectUserError(runWith(trainArgs({}), model),
                  {"does not export", "matc_model_adamw_step"});
  // A BF16 binary does not train.
  nlohmann::ordered_json bf16 = nlohmann::ordered_json::parse(manifest);
  bf16["weight_dtype"] = "BF16";
  expectUserError(run(trainArgs({}), bf16.dump()),
                  {"BF16 weights", "F32 weights only"});
}

TEST_F(TrainCommandTest, BadData) {
  expectUserError(
      run({"train", "--data", tmp.path("missing.txt"), "--out", out}),
      {"missing.txt"});
  write(tmp.path("empty.txt"), "");
  expectUserError(run({"train", "--data", tmp.path("empty.txt"), "--out", out}),
                  {"--data", "empty.txt", "the file is empty"});
  // 18 bytes: the first 90% is 16, fewer than one window of the default
  // seq-len (the toy's 16 positions) + 1.
  write(tmp.path("short.txt"), std::string(18, 'a'));
  expectUserError(run({"train", "--data", tmp.path("short.txt"), "--out", out}),
                  {"--data", "short.txt",
                   "the training part (the first 90% of the file) "
                   "has 16 bytes",
                   "one window of --seq-len + 1 = 17 bytes"});
  // With --eval-data the whole file trains: 18 bytes are enough.
  write(tmp.path("held.txt"), "abc");
  Outcome whole = run({"train", "--data", tmp.path("short.txt"), "--out", out,
                       "--eval-data", tmp.path("held.txt"), "--steps", "1",
                       "--eval-every", "1"});
  EXPECT_EQ(whole.status, kExitSuccess) << whole.err;
  EXPECT_TRUE(contains(whole.err, "(1 windows of 16 bytes)")) << whole.err;
  expectUserError(run(trainArgs({"--eval-data", tmp.path("nothing.txt")})),
                  {"nothing.txt"});
  // A held-out part too short to score.
  write(tmp.path("tiny-held.txt"), "a");
  expectUserError(run(trainArgs({"--eval-data", tmp.path("tiny-held.txt"),
                                 "--eval-every", "5"})),
                  {"--eval-data", "tiny-held.txt", "has 1 bytes"});
}

TEST_F(TrainCommandTest, BadSettings) {
  // Each sequence is one pass over seq-len positions: at most the context.
  expectUserError(run(trainArgs({"--seq-len", "17"})),
                  {"--seq-len", "17 exceeds the model's max_positions (16)"});
  expectUserError(run(trainArgs({"--sampling", "0.5,0.5"})),
                  {"--sampling", "2 probabilities given, expected 4"});
  expectUserError(run(trainArgs({"--sampling", "0.5,0.5,0.5,0.5"})),
                  {"--sampling", "sum to 2, expected 1"});
  expectUserError(run(trainArgs({"--loss-weights", "1,1"})),
                  {"--loss-weights", "2 weights given, expected 4"});
  expectUserError(run(trainArgs({"--loss-weights", "0,0,0,0"})),
                  {"--loss-weights", "all weights are 0"});
  expectUserError(run(trainArgs({"--init", tmp.path("missing.safetensors")})),
                  {"missing.safetensors"});
  // A checkpoint of another shape.
  std::string wrong = tmp.path("toy.safetensors");
  ASSERT_TRUE(matc::test::writeToyWeights(wrong));
  expectUserError(run(trainArgs({"--init", wrong})),
                  {"lm_head.weight", "missing from the checkpoint"});
  expectUserError(run({"train", "--data", data, "--out", out, "--resume"}),
                  {"w.safetensors.optim"});
}

TEST_F(TrainCommandTest, BadUsage) {
  auto usage = [&](const std::vector<std::string> &args,
                   const std::string &fragment) {
    Outcome outcome = run(args);
    EXPECT_EQ(outcome.status, kExitUsage) << outcome.err;
    EXPECT_TRUE(contains(outcome.err, fragment)) << outcome.err;
    EXPECT_TRUE(contains(outcome.err, "usage: toy train")) << outcome.err;
  };
  usage({"train", "--out", out}, "--data is required");
  usage({"train", "--data", data}, "--out is required");
  usage(trainArgs({"--batch", "0"}), "--batch");
  usage(trainArgs({"--steps", "0"}), "--steps");
  usage(trainArgs({"--lr", "0"}), "--lr: expected a number > 0");
  usage(trainArgs({"--sampling", "some"}), "--sampling: expected 'all'");
  usage(trainArgs({"--loss-weights", "1,x"}), "'x' is not a number");
  usage({"train", "--data", data, "--out", out, "--resume", "--init", out},
        "--init and --resume exclude each other");
  usage(trainArgs({"--resume"}), "--seed has no effect with --resume");
  usage({"train", "--data", data, "--out", out, "--resume", "--seed", "1"},
        "--seed has no effect with --resume");
  Outcome help = run({"train", "--help"});
  EXPECT_EQ(help.status, kExitSuccess);
  EXPECT_TRUE(contains(help.out, "[--eval-every N] [--eval-data FILE]"));
  EXPECT_EQ(matc::test::toyTrainStepCalls(), 0);
}

// OUT train: joint nested training of the universal model on a byte corpus
// (docs/REFERENCE.md, OUT train). The model math is the generated code's;
// this file reads the command line, the data and the checkpoints, and
// drives TrainingRun step by step with a progress line.

#include "Commands.h"

#include "matrt/Evaluation.h"
#include "matrt/MappedFile.h"
#include "matrt/Tokens.h"
#include "matrt/TrainingCheckpoint.h"
#include "matrt/TrainingProgress.h"
#include "matrt/TrainingRun.h"
#include "matrt/WeightStore.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <unistd.h>

namespace matrt {

const char kTrainUsage[] =
    "OUT train --data FILE --out W.safetensors [--init W0] [--steps N] "
    "[--batch B] [--seq-len T] [--lr X] [--min-lr X] [--warmup N] "
    "[--schedule-steps N] [--weight-decay X] [--clip X] "
    "[--sampling all|p0,p1,...] [--loss-weights l0,l1,...] "
    "[--decay-norms-and-embeddings] [--seed S] [--resume] [--save-every N] "
    "[--eval-every N] [--eval-data FILE] [--eval-windows N] [--log-every N]";

namespace {

using Clock = std::chrono::steady_clock;
using matc::spec::Diagnostics;

constexpr int64_t kDefaultSteps = 1000;
constexpr int64_t kDefaultSeqLen = 256;
constexpr int64_t kMaxBatch = int64_t(1) << 20;
constexpr int64_t kMaxWarmup = 100;

struct TrainFlags {
  std::string dataPath, outPath, initPath, evalDataPath;
  std::string sampling, lossWeights;
  int64_t steps = kDefaultSteps, batch = 8, seqLen = kDefaultSeqLen;
  int64_t warmup = 0, scheduleSteps = 0;
  double lr = 1e-3, minLr = 0, weightDecay = 0.1, clip = 1.0;
  uint64_t seed = 0;
  bool resume = false, decayNormsAndEmbeddings = false;
  int64_t saveEvery = 1000, evalEvery = 0, evalWindows = 100, logEvery = 10;
};

// Applies the flags given to the settings of this run. A resumed run starts
// from the checkpoint's settings, and a flag that changes one of them is
// noted, since the run then differs from an uninterrupted one.
class SettingsOverride {
public:
  SettingsOverride(const FlagParser &parser, bool resumed,
                   std::vector<std::string> &notes)
      : parser(parser), resumed(resumed), notes(notes) {}

  template <typename T>
  void apply(const char *flag, const T &given, T &target,
             const std::string &shown) {
    if (!parser.given(flag))
      return;
    if (resumed && !(given == target))
      notes.push_back(std::string(flag) + (shown.empty() ? "" : " ") + shown +
                      " replaces the checkpoint's setting");
    target = given;
  }

private:
  const FlagParser &parser;
  bool resumed;
  std::vector<std::string> &notes;
};

std::string numberText(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

std::vector<std::string> granularityNames(int64_t count) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < count; ++i)
    names.push_back(granularityName(i, count));
  return names;
}

// {"S": 2.31, "M": ...}; a NaN (not run) is null.
nlohmann::ordered_json lossObject(const std::vector<std::string> &names,
                                  const std::vector<double> &losses) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < names.size(); ++i)
    object[names[i]] = losses[i];
  return object;
}

std::string jsonLine(const nlohmann::ordered_json &value) {
  return value.dump(-1, ' ', false,
                    nlohmann::ordered_json::error_handler_t::replace);
}

// The model must be one compiled with --train that trains f32 weights on
// bytes.
std::optional<Manifest> openTrainableModel(const CompiledModel &model,
                                           Diagnostics &diags) {
  Diagnostics manifestDiags("compiled model manifest");
  std::optional<Manifest> manifest;
  if (!model.forward || !model.manifestText)
    manifestDiags.error("", "missing");
  else
    manifest = parseManifest(model.manifestText, manifestDiags);
  for (const matc::spec::Diagnostic &d : manifestDiags.all())
    diags.report(d.severity, "", d.message);
  if (!manifest)
    return std::nullopt;
  if (!manifest->train) {
    diags.error("train", "this program was not compiled for training; "
                         "compile the spec with `matc compile SPEC --train` "
                         "to get the train command");
    return std::nullopt;
  }
  if (!model.canTrain()) {
    diags.error("train",
                std::string("the compiled model's manifest says \"train\": "
                            "true, but it does not export ") +
                    matc::abi::kTrainStepSymbol + ", " +
                    matc::abi::kGradSquaredNormSymbol + " and " +
                    matc::abi::kAdamWStepSymbol +
                    "; recompile it with matc compile --train");
    return std::nullopt;
  }
  if (manifest->weightDtype != matc::spec::DType::F32) {
    diags.error("train", std::string("this binary has ") +
                             matc::spec::dtypeName(manifest->weightDtype) +
                             " weights; training updates F32 weights only "
                             "(compile with --dtype f32)");
    return std::nullopt;
  }
  if (manifest->vocabSize != kByteVocabSize) {
    diags.error("--data", "train reads byte data (token = byte value), "
                          "which needs the byte tokenizer (vocab_size 256); "
                          "this model has vocab_size " +
                              std::to_string(manifest->vocabSize));
    return std::nullopt;
  }
  return manifest;
}

// Where the progress line goes: rewritten in place on a terminal, one line
// per --log-every steps otherwise.
class ProgressPrinter {
public:
  ProgressPrinter(std::FILE *stream, int64_t logEvery)
      : stream(stream), logEvery(logEvery),
        terminal(::isatty(::fileno(stream)) == 1) {}

  bool due(int64_t step, int64_t lastStep) const {
    return terminal || step == lastStep || step % logEvery == 0;
  }
  void show(const std::string &line) {
    if (terminal)
      std::fprintf(stream, "\r%s\x1b[K", line.c_str());
    else
      std::fprintf(stream, "%s\n", line.c_str());
    pending = terminal;
    std::fflush(stream);
  }
  // A whole line (an evaluation, a checkpoint), below the progress line.
  void message(const std::string &line) {
    finish();
    std::fprintf(stream, "%s\n", line.c_str());
    std::fflush(stream);
  }
  void finish() {
    if (pending)
      std::fputc('\n', stream);
    pending = false;
  }

private:
  std::FILE *stream;
  int64_t logEvery;
  bool terminal;
  bool pending = false;
};

} // namespace

int runTrain(const CommandContext &context,
             const std::vector<std::string> &args) {
  TrainFlags f;
  FlagParser parser;
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  parser.addString("--data", &f.dataPath, "FILE");
  parser.addString("--out", &f.outPath, "W.safetensors");
  parser.addString("--init", &f.initPath, "W0");
  parser.addInt("--steps", &f.steps, 1, kMax, "N");
  parser.addInt("--batch", &f.batch, 1, kMaxBatch, "B");
  parser.addInt("--seq-len", &f.seqLen, 1, kMax, "T");
  parser.addDouble("--lr", &f.lr, 0, "X");
  parser.addDouble("--min-lr", &f.minLr, 0, "X");
  parser.addInt("--warmup", &f.warmup, 0, kMax, "N");
  parser.addInt("--schedule-steps", &f.scheduleSteps, 1, kMax, "N");
  parser.addDouble("--weight-decay", &f.weightDecay, 0, "X");
  parser.addDouble("--clip", &f.clip, 0, "X");
  parser.addString("--sampling", &f.sampling, "all|p0,p1,...");
  parser.addString("--loss-weights", &f.lossWeights, "l0,l1,...");
  parser.addSwitch("--decay-norms-and-embeddings", &f.decayNormsAndEmbeddings);
  parser.addUnsigned("--seed", &f.seed, "S");
  parser.addSwitch("--resume", &f.resume);
  parser.addInt("--save-every", &f.saveEvery, 0, kMax, "N");
  parser.addInt("--eval-every", &f.evalEvery, 0, kMax, "N");
  parser.addString("--eval-data", &f.evalDataPath, "FILE");
  parser.addInt("--eval-windows", &f.evalWindows, 0, kMax, "N");
  parser.addInt("--log-every", &f.logEvery, 1, kMax, "N");
  int status = kExitSuccess;
  if (!context.parseFlags(parser, args, kTrainUsage, status))
    return status;

  Diagnostics diags;
  // A program that cannot train says so before anything about its flags.
  std::optional<Manifest> manifest = openTrainableModel(context.model, diags);
  if (!manifest)
    return context.report(diags);

  if (!parser.given("--data"))
    return context.usageError("--data is required", kTrainUsage);
  if (!parser.given("--out"))
    return context.usageError("--out is required", kTrainUsage);
  if (f.resume && parser.given("--init"))
    return context.usageError(
        "--init and --resume exclude each other: --resume continues from "
        "the --out checkpoint",
        kTrainUsage);
  if (f.resume && parser.given("--seed"))
    return context.usageError(
        "--seed has no effect with --resume: the checkpoint holds the "
        "random state",
        kTrainUsage);
  if (parser.given("--lr") && f.lr <= 0)
    return context.usageError("--lr: expected a number > 0", kTrainUsage);
  bool sampleAll = true;
  std::vector<double> probabilities, lossWeights;
  std::string error;
  if (parser.given("--sampling") &&
      !parseSamplingFlag(f.sampling, sampleAll, probabilities, error))
    return context.usageError("--sampling: " + error, kTrainUsage);
  if (parser.given("--loss-weights") &&
      !parseNumberList(f.lossWeights, lossWeights, error))
    return context.usageError("--loss-weights: " + error, kTrainUsage);

  // The settings: the checkpoint's when resuming, else the defaults and
  // the spec's matformer block; then the flags given.
  const matc::spec::ModelSpec &spec = manifest->spec;
  TrainingSettings settings;
  TrainingStateFile stateFile;
  std::vector<std::string> notes;
  if (f.resume) {
    if (!stateFile.open(trainingStatePath(f.outPath), diags))
      return context.report(diags);
    settings = stateFile.state().settings;
    if (stateFile.state().mix != manifest->mixText)
      diags.warning("--resume", "the checkpoint was written by a binary "
                                "compiled for mix " +
                                    stateFile.state().mix + ", this one is " +
                                    manifest->mixText);
  } else {
    settings.seed = f.seed;
    settings.seqLen = std::min(kDefaultSeqLen, manifest->maxPositions);
    settings.lossWeights = spec.lossWeights;
    settings.sampleAll = spec.sampling.all;
    settings.probabilities = spec.sampling.probabilities;
    settings.schedule.totalSteps = f.steps;
  }
  SettingsOverride set(parser, f.resume, notes);
  set.apply("--batch", f.batch, settings.batch, std::to_string(f.batch));
  set.apply("--seq-len", f.seqLen, settings.seqLen, std::to_string(f.seqLen));
  set.apply("--lr", f.lr, settings.schedule.peak, numberText(f.lr));
  if (!f.resume) {
    settings.schedule.minimum = settings.schedule.peak / 10;
    if (parser.given("--schedule-steps"))
      settings.schedule.totalSteps = f.scheduleSteps;
    settings.schedule.warmupSteps =
        std::min(kMaxWarmup, settings.schedule.totalSteps / 10);
  }
  set.apply("--min-lr", f.minLr, settings.schedule.minimum,
            numberText(f.minLr));
  set.apply("--warmup", f.warmup, settings.schedule.warmupSteps,
            std::to_string(f.warmup));
  if (f.resume)
    set.apply("--schedule-steps", f.scheduleSteps, settings.schedule.totalSteps,
              std::to_string(f.scheduleSteps));
  set.apply("--weight-decay", f.weightDecay, settings.weightDecay,
            numberText(f.weightDecay));
  set.apply("--clip", f.clip, settings.clipNorm, numberText(f.clip));
  std::pair<bool, std::vector<double>> sampling(settings.sampleAll,
                                                settings.probabilities);
  set.apply("--sampling", std::make_pair(sampleAll, probabilities), sampling,
            f.sampling);
  settings.sampleAll = sampling.first;
  settings.probabilities = sampling.second;
  set.apply("--loss-weights", lossWeights, settings.lossWeights, f.lossWeights);
  set.apply("--decay-norms-and-embeddings", f.decayNormsAndEmbeddings,
            settings.decayNormsAndEmbeddings, "");
  if (!checkTrainingSettings(settings, spec, manifest->maxPositions, diags))
    return context.report(diags);
  if (settings.schedule.minimum > settings.schedule.peak)
    diags.warning("--min-lr", numberText(settings.schedule.minimum) +
                                  " is above the peak --lr " +
                                  numberText(settings.schedule.peak));

  int64_t firstStep = f.resume ? stateFile.state().step : 0;
  int64_t steps = f.steps;
  if (f.resume && !parser.given("--steps")) {
    steps = settings.schedule.totalSteps - firstStep;
    if (steps <= 0) {
      diags.error("--resume",
                  trainingStatePath(f.outPath) + " is at step " +
                      std::to_string(firstStep) +
                      ", where its schedule ends; pass --steps N to train N "
                      "more steps");
      return context.report(diags);
    }
  }
  int64_t lastStep = firstStep + steps;

  // The data: the first 90% of --data trains and the last 10% is held out,
  // unless --eval-data gives the held-out text.
  uint64_t windowBytes = static_cast<uint64_t>(settings.seqLen) + 1;
  MappedFile data, evalData;
  if (!data.open(f.dataPath, diags))
    return context.report(diags);
  bool separateEval = parser.given("--eval-data");
  ByteRange trainRange{0, separateEval ? data.size()
                                       : validationSplit(data.size()).begin};
  if (data.size() == 0) {
    diags.error("--data", f.dataPath + ": the file is empty");
    return context.report(diags);
  }
  if (trainRange.size() < windowBytes) {
    diags.error("--data",
                f.dataPath + ": the training part (" +
                    (separateEval ? std::string("the whole file")
                                  : std::string("the first 90% of the file")) +
                    ") has " + std::to_string(trainRange.size()) +
                    " bytes, fewer than one window of --seq-len + 1 = " +
                    std::to_string(windowBytes) + " bytes");
    return context.report(diags);
  }
  const uint8_t *evalBytes = nullptr;
  uint64_t evalSize = 0;
  if (separateEval) {
    if (!evalData.open(f.evalDataPath, diags))
      return context.report(diags);
    evalBytes = evalData.data();
    evalSize = evalData.size();
  } else {
    ByteRange held = validationSplit(data.size());
    evalBytes = data.data() + held.begin;
    evalSize = held.size();
  }
  if (f.evalEvery > 0 && evalSize < 2) {
    diags.error(separateEval ? "--eval-data" : "--eval-every",
                (separateEval ? f.evalDataPath
                              : f.dataPath + ": the held-out part (the last "
                                             "10%)") +
                    " has " + std::to_string(evalSize) +
                    " bytes; at least 2 are needed to score one prediction");
    return context.report(diags);
  }
  uint64_t dataHash = dataFingerprint(data.data(), trainRange.size());
  if (f.resume && (stateFile.state().dataBytes != trainRange.size() ||
                   stateFile.state().dataHash != dataHash))
    diags.warning("--data", f.dataPath + ": not the training data the "
                                         "checkpoint was trained on");

  // The parameters: from the checkpoint, --init, or initialized as `matc
  // init --seed S` would.
  std::unique_ptr<TrainingRun> run =
      TrainingRun::create(*manifest, context.model, settings, diags);
  if (!run)
    return context.report(diags);
  if (f.resume) {
    if (!stateFile.loadTensors(run->parameters(), diags))
      return context.report(diags);
    if (!run->sampler().restore(stateFile.state().samplerState)) {
      diags.error(trainingStatePath(f.outPath),
                  "metadata 'sampler_state': not a random engine state");
      return context.report(diags);
    }
    run->setStepsDone(firstStep);
  } else if (parser.given("--init")) {
    std::unique_ptr<WeightStore> initial =
        WeightStore::load(f.initPath, *manifest, diags);
    if (!initial)
      return context.report(diags);
    run->parameters().copyWeightsFrom(initial->pointers());
  } else {
    run->parameters().initialize(settings.seed);
  }

  std::FILE *err = context.console.err;
  std::fputs(diags.str().c_str(), err);
  diags = Diagnostics();
  for (const std::string &note : notes)
    std::fprintf(err, "note: %s\n", note.c_str());
  int64_t granularities = run->numGranularities();
  std::vector<std::string> names = granularityNames(granularities);
  std::string recipe = settings.sampleAll
                           ? "all granularities, loss weights " +
                                 formatNumberList(settings.lossWeights)
                           : "one granularity per step, probabilities " +
                                 formatNumberList(settings.probabilities);
  std::fprintf(
      err,
      "train: steps %lld..%lld, batch %lld x %lld bytes from %s bytes "
      "[0, %llu), %s, lr %s (warm-up %lld, cosine to %s at step %lld)\n",
      static_cast<long long>(firstStep + 1), static_cast<long long>(lastStep),
      static_cast<long long>(settings.batch),
      static_cast<long long>(settings.seqLen), f.dataPath.c_str(),
      static_cast<unsigned long long>(trainRange.end), recipe.c_str(),
      numberText(settings.schedule.peak).c_str(),
      static_cast<long long>(settings.schedule.warmupSteps),
      numberText(settings.schedule.minimum).c_str(),
      static_cast<long long>(settings.schedule.totalSteps));

  ProgressPrinter progress(err, f.logEvery);
  LossAverager averages(static_cast<std::size_t>(granularities));
  std::vector<double> lastMeans(granularities, NAN);
  std::FILE *out = context.console.out;
  Clock::time_point start = Clock::now(), lastLine = start;
  int64_t stepsSinceLine = 0;
  auto evaluate = [&](int64_t step) {
    std::vector<HeldOutLoss> losses;
    if (!run->evaluate(evalBytes, evalSize, f.evalWindows, losses, diags))
      return false;
    std::string line = "eval step " + std::to_string(step) + ": held-out loss";
    nlohmann::ordered_json json = {{"step", step}, {"split", "heldout"}};
    nlohmann::ordered_json byName = nlohmann::ordered_json::object();
    char number[32];
    for (const HeldOutLoss &loss : losses) {
      std::snprintf(number, sizeof(number), " %.4f", loss.result.meanLoss());
      line += " " + loss.name + number;
      byName[loss.name] = loss.result.meanLoss();
    }
    int64_t windows = losses.empty() ? 0 : losses.front().result.windows;
    line += " (" + std::to_string(windows) + " windows of " +
            std::to_string(settings.seqLen) + " bytes)";
    json["loss"] = byName;
    json["windows"] = windows;
    progress.message(line);
    std::fprintf(out, "%s\n", jsonLine(json).c_str());
    std::fflush(out);
    return true;
  };
  auto save = [&](int64_t step) {
    if (!writeCheckpoint(f.outPath, *run, trainRange.size(), dataHash, diags))
      return false;
    progress.message("checkpoint step " + std::to_string(step) + ": " +
                     f.outPath + " (state " + trainingStatePath(f.outPath) +
                     ")");
    return true;
  };

  for (int64_t step = firstStep + 1; step <= lastStep; ++step) {
    StepResult result;
    if (!run->step(data.data(), trainRange.size(), result, diags)) {
      progress.finish();
      return context.report(diags);
    }
    averages.add(result.losses);
    ++stepsSinceLine;
    if (progress.due(step, lastStep)) {
      Clock::time_point now = Clock::now();
      double interval = std::chrono::duration<double>(now - lastLine).count();
      double elapsed = std::chrono::duration<double>(now - start).count();
      ProgressLine line;
      line.step = step;
      line.lastStep = lastStep;
      line.tokensPerSecond =
          interval > 0 ? static_cast<double>(stepsSinceLine * settings.batch *
                                             settings.seqLen) /
                             interval
                       : 0;
      line.names = names;
      line.losses = lastMeans = averages.means();
      line.learningRate = result.learningRate;
      line.etaSeconds = elapsed / static_cast<double>(step - firstStep) *
                        static_cast<double>(lastStep - step);
      progress.show(formatProgress(line));
      averages.reset();
      stepsSinceLine = 0;
      lastLine = now;
    }
    if (f.evalEvery > 0 && (step % f.evalEvery == 0 || step == lastStep) &&
        !evaluate(step)) {
      progress.finish();
      return context.report(diags);
    }
    if (((f.saveEvery > 0 && step % f.saveEvery == 0) || step == lastStep) &&
        !save(step)) {
      progress.finish();
      return context.report(diags);
    }
  }
  progress.finish();
  nlohmann::ordered_json summary = {
      {"step", lastStep},
      {"train_loss", lossObject(names, lastMeans)},
      {"weights", f.outPath},
      {"state", trainingStatePath(f.outPath)}};
  std::fprintf(out, "%s\n", jsonLine(summary).c_str());
  std::fflush(out);
  return context.report(diags);
}

} // namespace matrt

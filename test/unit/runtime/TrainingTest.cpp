// The parts of `OUT train` below the command line: the sampler, the
// schedule, the settings checks, the step on the toy model, the progress
// line and the checkpoint files.

#include "TempDir.h"
#include "TrainingTestSupport.h"
#include "spec/SpecTestSupport.h"

#include "matc/spec/FileIO.h"
#include "matc/spec/InitialWeights.h"
#include "matrt/BatchSampler.h"
#include "matrt/LearningRateSchedule.h"
#include "matrt/TrainingCheckpoint.h"
#include "matrt/TrainingProgress.h"
#include "matrt/TrainingRun.h"
#include "matrt/WeightStore.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::test::hasError;
using matc::test::kNumToyTrainWeights;
using matc::test::kToyEmbed;
using matc::test::kToyHead;
using matc::test::kToyHidden;
using matc::test::kToyNorm;
using matc::test::TempDir;

namespace {

// The sampler's documented algorithm, written again: draws of
// std::mt19937_64 below 2^64 - 2^64 mod n are accepted, and reduced mod n.
std::vector<uint64_t> referenceStarts(uint64_t seed, int64_t count,
                                      uint64_t positions) {
  std::mt19937_64 engine(seed);
  std::vector<uint64_t> starts;
  uint64_t limit = UINT64_MAX - UINT64_MAX % positions;
  while (static_cast<int64_t>(starts.size()) < count) {
    uint64_t draw = engine();
    if (draw < limit)
      starts.push_back(draw % positions);
  }
  return starts;
}

matc::spec::ModelSpec toySpec() {
  Diagnostics diags;
  std::optional<matc::spec::ModelSpec> spec =
      matc::spec::parseModelSpec(matc::test::toyConfig().dump(), diags);
  EXPECT_TRUE(spec) << diags.str();
  return *spec;
}

TrainingSettings toySettings() {
  TrainingSettings settings;
  settings.batch = 4;
  settings.seqLen = 8;
  settings.lossWeights = {1, 1, 1, 1};
  settings.schedule = {0.05, 0.005, 2, 40};
  settings.weightDecay = 0;
  settings.seed = 3;
  return settings;
}

std::string fileBytes(const std::string &path) {
  std::string bytes;
  Diagnostics diags;
  matc::spec::readFile(path, bytes, diags);
  return bytes;
}

} // namespace

TEST(BatchSamplerTest, WindowsAreAFunctionOfTheSeed) {
  BatchSampler a(42), b(42), c(43);
  std::vector<uint64_t> first = a.windowStarts(64, 1000, 9);
  EXPECT_EQ(first, b.windowStarts(64, 1000, 9));
  EXPECT_NE(first, c.windowStarts(64, 1000, 9));
  EXPECT_EQ(first, referenceStarts(42, 64, 1000 - 9 + 1));
  for (uint64_t start : first)
    EXPECT_LE(start + 9, 1000u);
  // A range of exactly one window has one start.
  EXPECT_EQ(a.windowStarts(3, 9, 9), (std::vector<uint64_t>{0, 0, 0}));
}

TEST(BatchSamplerTest, StateRoundTrips) {
  BatchSampler sampler(7);
  sampler.windowStarts(10, 500, 17);
  std::string state = sampler.state();
  std::vector<uint64_t> next = sampler.windowStarts(10, 500, 17);
  BatchSampler restored(0);
  ASSERT_TRUE(restored.restore(state));
  EXPECT_EQ(restored.windowStarts(10, 500, 17), next);
  EXPECT_FALSE(restored.restore("not a state"));
  EXPECT_FALSE(restored.restore(state + " 12"));
  EXPECT_FALSE(restored.restore(""));
}

TEST(BatchSamplerTest, PickFollowsTheProbabilities) {
  BatchSampler sampler(1);
  std::vector<double> probabilities = {0.5, 0.25, 0.0, 0.25};
  std::vector<int64_t> counts(4, 0);
  const int draws = 40000;
  for (int i = 0; i < draws; ++i)
    ++counts[sampler.pick(probabilities)];
  EXPECT_EQ(counts[2], 0);
  // Binomial standard deviations are below 0.0025; 4 of them.
  EXPECT_NEAR(counts[0] / double(draws), 0.5, 0.01);
  EXPECT_NEAR(counts[1] / double(draws), 0.25, 0.01);
  EXPECT_NEAR(counts[3] / double(draws), 0.25, 0.01);
  // A one-hot vector always picks its granularity, even when rounding
  // leaves the sum a little below 1.
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(sampler.pick({0, 0, 1 - 1e-12, 0}), 2);
}

TEST(LearningRateScheduleTest, WarmUpThenCosine) {
  LearningRateSchedule schedule{1.0, 0.1, 10, 110};
  EXPECT_DOUBLE_EQ(schedule.at(1), 0.1);
  EXPECT_DOUBLE_EQ(schedule.at(5), 0.5);
  EXPECT_DOUBLE_EQ(schedule.at(10), 1.0);
  // Halfway through the decay: (peak + minimum) / 2.
  EXPECT_NEAR(schedule.at(60), 0.55, 1e-12);
  // A quarter: minimum + (peak - minimum) * (1 + cos(pi / 4)) / 2.
  EXPECT_NEAR(schedule.at(35), 0.1 + 0.9 * (1 + std::sqrt(0.5)) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(schedule.at(110), 0.1);
  EXPECT_DOUBLE_EQ(schedule.at(500), 0.1);
  for (int64_t step = 11; step < 110; ++step)
    EXPECT_LT(schedule.at(step + 1), schedule.at(step));

  LearningRateSchedule noWarmup{2.0, 0.0, 0, 4};
  EXPECT_NEAR(noWarmup.at(1), 2.0 * (1 + std::cos(M_PI / 4)) / 2, 1e-12);
  EXPECT_NEAR(noWarmup.at(4), 0.0, 1e-12);
  LearningRateSchedule allWarmup{1.0, 0.5, 5, 5};
  EXPECT_DOUBLE_EQ(allWarmup.at(5), 1.0);
  EXPECT_DOUBLE_EQ(allWarmup.at(6), 0.5);
}

TEST(TrainingSettingsTest, StepLossWeights) {
  TrainingSettings settings;
  settings.batch = 4;
  settings.lossWeights = {1, 2, 0, 4};
  EXPECT_EQ(stepLossWeights(settings, -1),
            (std::vector<float>{0.25f, 0.5f, 0.0f, 1.0f}));
  settings.sampleAll = false;
  settings.probabilities = {0.25, 0.25, 0.25, 0.25};
  EXPECT_EQ(stepLossWeights(settings, 1),
            (std::vector<float>{0.0f, 0.25f, 0.0f, 0.0f}));
}

TEST(TrainingSettingsTest, Checks) {
  matc::spec::ModelSpec spec = toySpec();
  TrainingSettings settings = toySettings();
  Diagnostics ok;
  EXPECT_TRUE(checkTrainingSettings(settings, spec, 16, ok)) << ok.str();

  auto failure = [&](const TrainingSettings &bad) {
    Diagnostics diags;
    EXPECT_FALSE(checkTrainingSettings(bad, spec, 16, diags));
    return diags;
  };
  TrainingSettings wrongWeights = settings;
  wrongWeights.lossWeights = {1, 1, 1};
  EXPECT_TRUE(hasError(failure(wrongWeights),
                       {"--loss-weights", "3 weights given, expected 4",
                        "granularities 2, 4, 8, 16"}));
  TrainingSettings negative = settings;
  negative.lossWeights = {1, -1, 1, 1};
  EXPECT_TRUE(hasError(failure(negative), {"--loss-weights", "weight 1"}));
  TrainingSettings zero = settings;
  zero.lossWeights = {0, 0, 0, 0};
  EXPECT_TRUE(hasError(failure(zero), {"--loss-weights", "all weights are 0"}));
  TrainingSettings wrongCount = settings;
  wrongCount.sampleAll = false;
  wrongCount.probabilities = {0.5, 0.5};
  EXPECT_TRUE(hasError(failure(wrongCount),
                       {"--sampling", "2 probabilities given, expected 4"}));
  TrainingSettings wrongSum = wrongCount;
  wrongSum.probabilities = {0.5, 0.25, 0.25, 0.25};
  EXPECT_TRUE(
      hasError(failure(wrongSum), {"--sampling", "sum to 1.25", "expected 1"}));
  TrainingSettings longSeq = settings;
  longSeq.seqLen = 17;
  EXPECT_TRUE(hasError(failure(longSeq),
                       {"--seq-len", "17 exceeds the model's max_positions "
                                     "(16)"}));
  matc::spec::ModelSpec noGranularities = spec;
  noGranularities.granularities.clear();
  Diagnostics diags;
  EXPECT_FALSE(checkTrainingSettings(settings, noGranularities, 16, diags));
  EXPECT_TRUE(hasError(diags, {"no matformer.granularities"}));
}

TEST(TrainingSettingsTest, FlagLists) {
  bool all = false;
  std::vector<double> values;
  std::string error;
  EXPECT_TRUE(parseSamplingFlag("all", all, values, error));
  EXPECT_TRUE(all);
  EXPECT_TRUE(parseSamplingFlag("0.5,0.5", all, values, error));
  EXPECT_FALSE(all);
  EXPECT_EQ(values, (std::vector<double>{0.5, 0.5}));
  EXPECT_FALSE(parseSamplingFlag("half,half", all, values, error));
  EXPECT_NE(error.find("'half' is not a number"), std::string::npos) << error;
  EXPECT_FALSE(parseNumberList("1,,2", values, error));
  EXPECT_FALSE(parseNumberList("1,inf", values, error));
  std::vector<double> exact = {0.1, 1.0 / 3, 2e-300};
  ASSERT_TRUE(parseNumberList(formatNumberList(exact), values, error));
  EXPECT_EQ(values, exact);
  EXPECT_EQ(granularityName(0, 4), "S");
  EXPECT_EQ(granularityName(3, 4), "XL");
  EXPECT_EQ(granularityName(1, 3), "g1");
  EXPECT_EQ(granularityName(2, 3), "XL");
}

TEST(TrainingProgressTest, LineFormat) {
  ProgressLine line;
  line.step = 120;
  line.lastStep = 1000;
  line.tokensPerSecond = 4321.4;
  line.names = {"S", "M", "L", "XL"};
  line.losses = {3.12341, 3.05, NAN, 2.95};
  line.learningRate = 9.8e-4;
  line.etaSeconds = 192;
  EXPECT_EQ(formatProgress(line), "step 120/1000 | 4321 tok/s | loss S 3.1234 "
                                  "M 3.0500 L - XL 2.9500 | lr 9.80e-04 | "
                                  "ETA 3m12s");
  EXPECT_EQ(formatDuration(45.2), "45s");
  EXPECT_EQ(formatDuration(7500), "2h05m");
  EXPECT_EQ(formatDuration(NAN), "?");

  LossAverager averager(2);
  averager.add({1.0, NAN});
  averager.add({3.0, NAN});
  std::vector<double> means = averager.means();
  EXPECT_EQ(means[0], 2.0);
  EXPECT_TRUE(std::isnan(means[1]));
  averager.reset();
  EXPECT_TRUE(std::isnan(averager.means()[0]));
}

class TrainingRunTest : public ::testing::Test {
protected:
  void SetUp() override {
    matc::test::resetToy();
    Diagnostics diags;
    std::optional<Manifest> parsed = parseManifest(manifestText, diags);
    ASSERT_TRUE(parsed) << diags.str();
    manifest = *parsed;
    corpus = matc::test::toyCorpus(2000);
  }
  void TearDown() override {
    EXPECT_FALSE(matc::test::toyPreconditionViolated());
  }

  std::unique_ptr<TrainingRun> makeRun(const TrainingSettings &settings) {
    Diagnostics diags;
    std::unique_ptr<TrainingRun> run = TrainingRun::create(
        manifest, matc::test::toyTrainModel(manifestText), settings, diags);
    EXPECT_TRUE(run) << diags.str();
    if (run)
      run->parameters().initialize(settings.seed);
    return run;
  }
  const uint8_t *bytes() const {
    return reinterpret_cast<const uint8_t *>(corpus.data());
  }

  std::string manifestText = matc::test::toyTrainManifest();
  Manifest manifest;
  std::string corpus;
};

TEST_F(TrainingRunTest, InitializesAsMatcInit) {
  TempDir tmp;
  matc::spec::ModelSpec spec = toySpec();
  Diagnostics diags;
  ASSERT_TRUE(matc::spec::writeInitialWeights(
      spec, tmp.path("init.safetensors"), 9, matc::spec::DType::F32, diags));
  std::optional<matc::spec::SafetensorsHeader> header =
      matc::spec::loadSafetensorsHeader(tmp.path("init.safetensors"), diags);
  ASSERT_TRUE(header) << diags.str();
  std::string file = fileBytes(tmp.path("init.safetensors"));
  TrainingSettings settings = toySettings();
  settings.seed = 9;
  std::unique_ptr<TrainingRun> run = makeRun(settings);
  ASSERT_TRUE(run);
  // Same tensor, same seed: the same bytes as `matc init` writes.
  for (std::size_t i :
       {std::size_t(kToyEmbed), std::size_t(kToyNorm), std::size_t(kToyHead)}) {
    const matc::spec::TensorInfo *tensor =
        header->find(run->parameters().slot(i).name);
    ASSERT_TRUE(tensor);
    ASSERT_EQ(tensor->end - tensor->begin,
              run->parameters().numElements(i) * sizeof(float));
    EXPECT_EQ(std::memcmp(file.data() + header->dataStart + tensor->begin,
                          run->parameters().weight(i),
                          tensor->end - tensor->begin),
              0)
        << run->parameters().slot(i).name;
  }
  EXPECT_EQ(run->parameters().weight(kToyNorm)[3], 1.0f);
}

TEST_F(TrainingRunTest, StepsLowerTheLossOfEveryGranularity) {
  std::unique_ptr<TrainingRun> run = makeRun(toySettings());
  ASSERT_TRUE(run);
  Diagnostics diags;
  std::vector<HeldOutLoss> before, after;
  ASSERT_TRUE(run->evaluate(bytes() + 1800, 200, 0, before, diags))
      << diags.str();
  StepResult result;
  for (int step = 0; step < 40; ++step)
    ASSERT_TRUE(run->step(bytes(), 1800, result, diags)) << diags.str();
  EXPECT_EQ(run->stepsDone(), 40);
  ASSERT_TRUE(run->evaluate(bytes() + 1800, 200, 0, after, diags));
  ASSERT_EQ(before.size(), 4u);
  ASSERT_EQ(after.size(), 4u);
  for (std::size_t g = 0; g < 4; ++g) {
    EXPECT_EQ(after[g].name, granularityName(g, 4));
    // ln 256 = 5.55 at random initialization.
    EXPECT_NEAR(before[g].result.meanLoss(), std::log(256.0), 0.01);
    // Every width learns: S, a rank-1 bigram model, the least.
    EXPECT_LT(after[g].result.meanLoss(), 4.0) << after[g].name;
    // 199 predictions in windows of 8.
    EXPECT_EQ(after[g].result.tokens, 199);
  }
  // Wider granularities fit the bigrams better; the phrase's bigrams are
  // nearly deterministic, so XL (rank 8) gets far below the unigram level.
  for (std::size_t g = 1; g < 4; ++g)
    EXPECT_LT(after[g].result.meanLoss(), after[g - 1].result.meanLoss());
  EXPECT_LT(after[3].result.meanLoss(), 1.5);
  // The last step's scalars reached the generated AdamW.
  const std::vector<float> &hyper = matc::test::toyLastHyper();
  EXPECT_FLOAT_EQ(hyper[matc::abi::kAdamLearningRate], 0.005f);
  EXPECT_FLOAT_EQ(hyper[matc::abi::kAdamBiasCorrection1],
                  float(1 - std::pow(0.9, 40)));
  EXPECT_FLOAT_EQ(hyper[matc::abi::kAdamBiasCorrection2],
                  float(1 - std::pow(0.95, 40)));
  EXPECT_FLOAT_EQ(hyper[matc::abi::kAdamGradScale], float(result.clipScale));
  EXPECT_EQ(result.losses.size(), 4u);
  EXPECT_EQ(matc::test::toyTrainStepCalls() > 0, true);
}

TEST_F(TrainingRunTest, EvaluationWindowsAreBounded) {
  std::unique_ptr<TrainingRun> run = makeRun(toySettings());
  ASSERT_TRUE(run);
  Diagnostics diags;
  std::vector<HeldOutLoss> losses;
  ASSERT_TRUE(run->evaluate(bytes(), 200, 3, losses, diags));
  EXPECT_EQ(losses[0].result.windows, 3);
  EXPECT_EQ(losses[0].result.tokens, 24);
}

TEST_F(TrainingRunTest, ClippingScalesTheGradient) {
  TrainingSettings settings = toySettings();
  settings.clipNorm = 1e-3;
  std::unique_ptr<TrainingRun> run = makeRun(settings);
  ASSERT_TRUE(run);
  StepResult result;
  Diagnostics diags;
  ASSERT_TRUE(run->step(bytes(), 1800, result, diags));
  ASSERT_GT(result.gradNorm, 1e-3);
  EXPECT_DOUBLE_EQ(result.clipScale, 1e-3 / result.gradNorm);
  EXPECT_DOUBLE_EQ(result.learningRate, 0.025); // step 1 of 2 warm-up steps

  settings.clipNorm = 0; // off
  std::unique_ptr<TrainingRun> unclipped = makeRun(settings);
  ASSERT_TRUE(unclipped->step(bytes(), 1800, result, diags));
  EXPECT_EQ(result.clipScale, 1.0);
}

TEST_F(TrainingRunTest, SamplingTrainsOneGranularityPerStep) {
  TrainingSettings settings = toySettings();
  settings.sampleAll = false;
  settings.probabilities = {0, 0, 1, 0};
  std::unique_ptr<TrainingRun> run = makeRun(settings);
  ASSERT_TRUE(run);
  StepResult result;
  Diagnostics diags;
  ASSERT_TRUE(run->step(bytes(), 1800, result, diags));
  EXPECT_EQ(result.sampled, 2);
  EXPECT_TRUE(std::isnan(result.losses[0]));
  EXPECT_TRUE(std::isnan(result.losses[3]));
  EXPECT_NEAR(result.losses[2], std::log(256.0), 0.01);
  // Width 4 of 8: the head's columns 4.. got no gradient, so AdamW left
  // them as they were.
  std::unique_ptr<TrainingRun> fresh = makeRun(settings);
  for (int64_t j = 0; j < 256 * kToyHidden; ++j) {
    if (j % kToyHidden >= 4) {
      ASSERT_EQ(run->parameters().weight(kToyHead)[j],
                fresh->parameters().weight(kToyHead)[j]);
    }
  }
}

TEST_F(TrainingRunTest, DecayMaskSparesNormsAndEmbeddings) {
  std::unique_ptr<TrainingRun> run = makeRun(toySettings());
  ASSERT_TRUE(run);
  matc::spec::ModelSpec spec = toySpec();
  EXPECT_EQ(run->parameters().decayMask(spec, false),
            (std::vector<float>{0, 0, 1}));
  EXPECT_EQ(run->parameters().decayMask(spec, true),
            (std::vector<float>{1, 1, 1}));
}

TEST_F(TrainingRunTest, DivergenceIsAnError) {
  std::unique_ptr<TrainingRun> run = makeRun(toySettings());
  ASSERT_TRUE(run);
  run->parameters().weight(kToyHead)[0] = NAN;
  std::vector<float> before(run->parameters().weight(kToyEmbed),
                            run->parameters().weight(kToyEmbed) + 256 * 8);
  StepResult result;
  Diagnostics diags;
  EXPECT_FALSE(run->step(bytes(), 1800, result, diags));
  EXPECT_TRUE(hasError(diags, {"step 1", "gradient norm is not finite"}));
  EXPECT_EQ(run->stepsDone(), 0);
  EXPECT_EQ(std::memcmp(before.data(), run->parameters().weight(kToyEmbed),
                        before.size() * sizeof(float)),
            0);
}

TEST_F(TrainingRunTest, CheckpointRoundTrips) {
  TempDir tmp;
  TrainingSettings settings = toySettings();
  settings.sampleAll = false;
  settings.probabilities = {0.1, 0.2, 0.3, 0.4};
  settings.decayNormsAndEmbeddings = true;
  std::unique_ptr<TrainingRun> run = makeRun(settings);
  ASSERT_TRUE(run);
  Diagnostics diags;
  StepResult result;
  for (int step = 0; step < 3; ++step)
    ASSERT_TRUE(run->step(bytes(), 1800, result, diags));
  std::string weights = tmp.path("w.safetensors");
  ASSERT_TRUE(writeCheckpoint(weights, *run, 1800, 77, diags)) << diags.str();

  // The weights load as any checkpoint does.
  std::unique_ptr<WeightStore> store =
      WeightStore::load(weights, manifest, diags);
  ASSERT_TRUE(store) << diags.str();
  EXPECT_EQ(std::memcmp(store->pointers()[kToyHead],
                        run->parameters().weight(kToyHead),
                        256 * kToyHidden * sizeof(float)),
            0);

  TrainingStateFile state;
  ASSERT_TRUE(state.open(trainingStatePath(weights), diags)) << diags.str();
  EXPECT_EQ(state.state().step, 3);
  EXPECT_EQ(state.state().dataBytes, 1800u);
  EXPECT_EQ(state.state().dataHash, 77u);
  EXPECT_EQ(state.state().mix, "elastic");
  EXPECT_EQ(state.state().samplerState, run->sampler().state());
  const TrainingSettings &read = state.state().settings;
  EXPECT_EQ(read.batch, settings.batch);
  EXPECT_EQ(read.seqLen, settings.seqLen);
  EXPECT_EQ(read.schedule.peak, settings.schedule.peak);
  EXPECT_EQ(read.schedule.minimum, settings.schedule.minimum);
  EXPECT_EQ(read.schedule.warmupSteps, settings.schedule.warmupSteps);
  EXPECT_EQ(read.schedule.totalSteps, settings.schedule.totalSteps);
  EXPECT_EQ(read.beta2, settings.beta2);
  EXPECT_EQ(read.epsilon, settings.epsilon);
  EXPECT_FALSE(read.sampleAll);
  EXPECT_EQ(read.probabilities, settings.probabilities);
  EXPECT_EQ(read.lossWeights, settings.lossWeights);
  EXPECT_TRUE(read.decayNormsAndEmbeddings);
  EXPECT_EQ(read.seed, 3u);

  std::unique_ptr<TrainingRun> resumed = makeRun(read);
  ASSERT_TRUE(state.loadTensors(resumed->parameters(), diags)) << diags.str();
  for (std::size_t i = 0; i < kNumToyTrainWeights; ++i) {
    std::size_t bytes = run->parameters().numElements(i) * sizeof(float);
    EXPECT_EQ(std::memcmp(resumed->parameters().weight(i),
                          run->parameters().weight(i), bytes),
              0);
    EXPECT_EQ(std::memcmp(resumed->parameters().firstMoment(i),
                          run->parameters().firstMoment(i), bytes),
              0);
    EXPECT_EQ(std::memcmp(resumed->parameters().secondMoment(i),
                          run->parameters().secondMoment(i), bytes),
              0);
  }
}

TEST_F(TrainingRunTest, StateFileErrors) {
  TempDir tmp;
  Diagnostics diags;
  TrainingStateFile missing;
  EXPECT_FALSE(missing.open(tmp.path("none.optim"), diags));
  EXPECT_TRUE(hasError(diags, {"none.optim"}));

  // An ordinary checkpoint is not a training state.
  std::string weights = tmp.path("w.safetensors");
  ASSERT_TRUE(matc::test::writeToyWeights(weights));
  Diagnostics notState;
  TrainingStateFile state;
  EXPECT_FALSE(state.open(weights, notState));
  EXPECT_TRUE(hasError(notState, {"w.safetensors", "not a training state"}));

  // A state of another model lacks this one's tensors.
  std::unique_ptr<TrainingRun> run = makeRun(toySettings());
  ASSERT_TRUE(writeCheckpoint(weights, *run, 1, 1, diags)) << diags.str();
  std::string otherText = matc::test::toyTrainManifest();
  nlohmann::json other = nlohmann::json::parse(otherText);
  other["weights"][2]["name"] = "lm_head.other";
  otherText = other.dump();
  Diagnostics otherDiags;
  std::optional<Manifest> otherManifest = parseManifest(otherText, otherDiags);
  ASSERT_TRUE(otherManifest) << otherDiags.str();
  std::unique_ptr<TrainableParameters> otherParameters =
      TrainableParameters::allocate(*otherManifest, otherDiags);
  ASSERT_TRUE(state.open(trainingStatePath(weights), otherDiags));
  EXPECT_FALSE(state.loadTensors(*otherParameters, otherDiags));
  EXPECT_TRUE(hasError(otherDiags, {"adam_m.lm_head.other", "missing"}));
}

// A run killed while writing a checkpoint: the temporary files are written
// but not renamed. The previous checkpoint must stay whole and loadable.
TEST_F(TrainingRunTest, KillDuringCheckpointWriteKeepsThePreviousOne) {
  TempDir tmp;
  std::string weights = tmp.path("w.safetensors");
  std::unique_ptr<TrainingRun> run = makeRun(toySettings());
  Diagnostics diags;
  StepResult result;
  ASSERT_TRUE(run->step(bytes(), 1800, result, diags));
  ASSERT_TRUE(writeCheckpoint(weights, *run, 1800, 5, diags));
  std::string oldWeights = fileBytes(weights);
  std::string oldState = fileBytes(trainingStatePath(weights));
  ASSERT_TRUE(run->step(bytes(), 1800, result, diags));

  {
    CheckpointWriter writer(weights);
    ASSERT_TRUE(writer.prepare(*run, 1800, 5, diags)) << diags.str();
    // Killed here: neither file is renamed.
    EXPECT_EQ(fileBytes(weights), oldWeights);
    EXPECT_EQ(fileBytes(trainingStatePath(weights)), oldState);
  }
  EXPECT_EQ(fileBytes(weights), oldWeights);
  EXPECT_EQ(fileBytes(trainingStatePath(weights)), oldState);
  EXPECT_FALSE(std::filesystem::exists(weights + ".partial"));
  EXPECT_TRUE(WeightStore::load(weights, manifest, diags)) << diags.str();
  TrainingStateFile state;
  ASSERT_TRUE(state.open(trainingStatePath(weights), diags));
  EXPECT_EQ(state.state().step, 1);

  // Killed between the two renames: the state is new, the weights old;
  // both load, and --resume reads the state alone.
  {
    CheckpointWriter writer(weights);
    ASSERT_TRUE(writer.prepare(*run, 1800, 5, diags));
    ASSERT_TRUE(writer.commitState(diags));
  }
  EXPECT_EQ(fileBytes(weights), oldWeights);
  EXPECT_TRUE(WeightStore::load(weights, manifest, diags)) << diags.str();
  TrainingStateFile newer;
  ASSERT_TRUE(newer.open(trainingStatePath(weights), diags));
  EXPECT_EQ(newer.state().step, 2);

  // A stale temporary left by a real kill does not get in the way.
  ASSERT_TRUE(
      matc::spec::writeFileAtomically(weights + ".partial", "junk", diags));
  ASSERT_TRUE(writeCheckpoint(weights, *run, 1800, 5, diags)) << diags.str();
  EXPECT_TRUE(WeightStore::load(weights, manifest, diags)) << diags.str();
  EXPECT_FALSE(std::filesystem::exists(weights + ".partial"));
}

#include "matrt/TrainingRun.h"

#include "matrt/ModelRunner.h"

#include <algorithm>
#include <cmath>

namespace matrt {

using matc::spec::Diagnostics;

std::unique_ptr<TrainingRun>
TrainingRun::create(const Manifest &manifest, const CompiledModel &model,
                    const TrainingSettings &settings, Diagnostics &diags) {
  if (!model.canTrain()) {
    diags.error("", "this binary has no training entry points (compile it "
                    "with matc compile --train)");
    return nullptr;
  }
  std::unique_ptr<TrainingRun> run(new TrainingRun(manifest, model, settings));
  run->params = TrainableParameters::allocate(manifest, diags);
  if (!run->params)
    return nullptr;
  run->decay =
      run->params->decayMask(manifest.spec, settings.decayNormsAndEmbeddings);
  return run;
}

bool TrainingRun::step(const uint8_t *corpus, uint64_t corpusBytes,
                       StepResult &result, Diagnostics &diags) {
  const TrainingSettings &s = runSettings;
  result = StepResult();
  // The granularity first, then the windows: the order is part of what a
  // seed means.
  if (!s.sampleAll)
    result.sampled = batches.pick(s.probabilities);
  std::vector<float> lossWeights = stepLossWeights(s, result.sampled);
  std::vector<uint64_t> starts = batches.windowStarts(
      s.batch, corpusBytes, static_cast<uint64_t>(s.seqLen) + 1);
  std::vector<std::vector<int32_t>> sequences;
  for (uint64_t start : starts)
    sequences.emplace_back(corpus + start, corpus + start + s.seqLen + 1);
  return optimize(sequences, lossWeights, s.schedule.at(completedSteps + 1),
                  result, diags);
}

bool TrainingRun::stepOn(const int32_t *tokens, int64_t sequences,
                         int64_t length, double learningRate,
                         StepResult &result, Diagnostics &diags) {
  result = StepResult();
  std::vector<std::vector<int32_t>> rows;
  for (int64_t i = 0; i < sequences; ++i)
    rows.emplace_back(tokens + i * length, tokens + (i + 1) * length);
  // lambda_i / B, as stepLossWeights makes them for a step of B sequences.
  double perSequence = 1.0 / static_cast<double>(sequences);
  std::vector<float> lossWeights;
  for (double weight : runSettings.lossWeights)
    lossWeights.push_back(static_cast<float>(weight * perSequence));
  return optimize(rows, lossWeights, learningRate, result, diags);
}

bool TrainingRun::optimize(const std::vector<std::vector<int32_t>> &sequences,
                           const std::vector<float> &lossWeights,
                           double learningRate, StepResult &result,
                           Diagnostics &diags) {
  const TrainingSettings &s = runSettings;
  int64_t granularities = numGranularities();
  int64_t stepNumber = completedSteps + 1;
  params->zeroGradients();
  std::vector<double> sums(granularities, 0.0);
  std::vector<float> losses(granularities);
  for (const std::vector<int32_t> &tokens : sequences) {
    std::fill(losses.begin(), losses.end(), 0.0f);
    functions.trainStep(static_cast<int64_t>(tokens.size()) - 1, tokens.data(),
                        lossWeights.data(), losses.data(), params->weights(),
                        params->grads());
    for (int64_t i = 0; i < granularities; ++i)
      sums[i] += losses[i];
  }
  double count = static_cast<double>(sequences.size());
  for (int64_t i = 0; i < granularities; ++i)
    result.losses.push_back(lossWeights[i] != 0 ? sums[i] / count : NAN);

  float squaredNorm = 0;
  functions.gradSquaredNorm(params->grads(), &squaredNorm);
  result.gradNorm = std::sqrt(static_cast<double>(squaredNorm));
  if (!std::isfinite(result.gradNorm)) {
    diags.error("train", "step " + std::to_string(stepNumber) +
                             ": the gradient norm is not finite (the loss "
                             "diverged); try a lower --lr or --clip");
    return false;
  }
  if (s.clipNorm > 0 && result.gradNorm > s.clipNorm)
    result.clipScale = s.clipNorm / result.gradNorm;
  result.learningRate = learningRate;

  float hyper[matc::abi::kNumAdamWHyper];
  hyper[matc::abi::kAdamLearningRate] = static_cast<float>(result.learningRate);
  hyper[matc::abi::kAdamBeta1] = static_cast<float>(s.beta1);
  hyper[matc::abi::kAdamBeta2] = static_cast<float>(s.beta2);
  hyper[matc::abi::kAdamEpsilon] = static_cast<float>(s.epsilon);
  hyper[matc::abi::kAdamWeightDecay] = static_cast<float>(s.weightDecay);
  hyper[matc::abi::kAdamBiasCorrection1] = static_cast<float>(
      1.0 - std::pow(s.beta1, static_cast<double>(stepNumber)));
  hyper[matc::abi::kAdamBiasCorrection2] = static_cast<float>(
      1.0 - std::pow(s.beta2, static_cast<double>(stepNumber)));
  hyper[matc::abi::kAdamGradScale] = static_cast<float>(result.clipScale);
  functions.adamwStep(hyper, decay.data(), params->weights(), params->grads(),
                      params->firstMoments(), params->secondMoments());
  completedSteps = stepNumber;
  return true;
}

bool TrainingRun::evaluate(const uint8_t *tokens, uint64_t numTokens,
                           int64_t maxWindows, std::vector<HeldOutLoss> &losses,
                           Diagnostics &diags) {
  losses.clear();
  int64_t seqLen = runSettings.seqLen;
  int64_t count = static_cast<int64_t>(numTokens);
  // Window w covers tokens [w * seqLen, (w + 1) * seqLen], its last byte
  // being the next window's first.
  if (maxWindows > 0 && countEvalWindows(count, seqLen) > maxWindows)
    count = maxWindows * seqLen + 1;
  std::unique_ptr<ModelRunner> runner = ModelRunner::create(
      model, functions.forward, params->weights(), diags, functions.loss);
  if (!runner)
    return false;
  std::vector<std::pair<std::string, matc::spec::Mix>> mixes;
  if (model.elastic)
    for (int64_t i = 0; i < numGranularities(); ++i)
      mixes.emplace_back(granularityName(i, numGranularities()),
                         granularityMix(model.spec, i));
  else
    mixes.emplace_back(matc::spec::formatMix(model.mix), model.mix);
  for (const auto &[name, mix] : mixes) {
    HeldOutLoss loss{name, EvalResult()};
    if (!runner->setMix(mix, diags) ||
        !evaluateLoss(*runner, tokens, count, seqLen, loss.result, diags))
      return false;
    losses.push_back(std::move(loss));
  }
  return true;
}

} // namespace matrt

#ifndef MATRT_TRAININGRUN_H
#define MATRT_TRAININGRUN_H

#include "matc/spec/Diagnostics.h"
#include "matrt/BatchSampler.h"
#include "matrt/Evaluation.h"
#include "matrt/Manifest.h"
#include "matrt/ModelAbi.h"
#include "matrt/TrainableParameters.h"
#include "matrt/TrainingSettings.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace matrt {

// What one optimizer step did.
struct StepResult {
  // Per granularity, the mean over the batch of its loss L_i; NaN for the
  // granularities the step did not run.
  std::vector<double> losses;
  int64_t sampled = -1; // the granularity drawn (--sampling p0,...), or -1
  double gradNorm = 0;  // global L2 norm of the gradient, before clipping
  double clipScale = 1; // min(1, clip / gradNorm)
  double learningRate = 0;
};

// Held-out loss of one granularity (or, in a binary compiled for one mix,
// of that mix).
struct HeldOutLoss {
  std::string name;
  EvalResult result;
};

// The training loop's state and step. All model math is the generated
// code's (matc/abi/ModelAbi.h, Training); this class does the scalars: it
// draws the batch and the granularity, weights the losses, turns the
// gradient norm into a clipping factor and the step into a learning rate
// and bias corrections, and averages the reported losses.
class TrainingRun {
public:
  // Needs a model with all three training entry points; the parameters
  // start at 0 (see parameters().initialize / copyWeightsFrom).
  static std::unique_ptr<TrainingRun> create(const Manifest &manifest,
                                             const CompiledModel &model,
                                             const TrainingSettings &settings,
                                             matc::spec::Diagnostics &diags);

  // One step on random windows of `corpus` (bytes, corpusBytes >= seqLen +
  // 1): zero the gradients, one train step per sequence, clip, AdamW.
  // Fails, leaving the weights as they were, when the gradient norm is not
  // finite (the loss diverged).
  bool step(const uint8_t *corpus, uint64_t corpusBytes, StepResult &result,
            matc::spec::Diagnostics &diags);

  // One step on given sequences instead of drawn windows, at
  // `learningRate` instead of the schedule's (the C API's
  // matrt_train_step): `sequences` sequences of `length` tokens each,
  // row-major, every one run from position 0 (length - 1 predictions),
  // with the joint loss of every granularity (lossWeights; the sampling
  // setting is not used). Fails like step().
  bool stepOn(const int32_t *tokens, int64_t sequences, int64_t length,
              double learningRate, StepResult &result,
              matc::spec::Diagnostics &diags);

  // The loss on `tokens` (bytes) in windows of seqLen as `OUT eval` scores
  // them, at most `maxWindows` of them (0: all), per granularity in an
  // elastic binary, else for the compiled mix.
  bool evaluate(const uint8_t *tokens, uint64_t numTokens, int64_t maxWindows,
                std::vector<HeldOutLoss> &losses,
                matc::spec::Diagnostics &diags);

  TrainableParameters &parameters() { return *params; }
  const TrainableParameters &parameters() const { return *params; }
  BatchSampler &sampler() { return batches; }
  const BatchSampler &sampler() const { return batches; }
  const TrainingSettings &settings() const { return runSettings; }
  const Manifest &manifest() const { return model; }
  // Steps completed (the checkpoint's step); the next step is stepsDone()+1.
  int64_t stepsDone() const { return completedSteps; }
  void setStepsDone(int64_t steps) { completedSteps = steps; }
  int64_t numGranularities() const {
    return static_cast<int64_t>(runSettings.lossWeights.size());
  }

private:
  // The step's common part: gradients of every sequence under
  // `lossWeights`, clipping, AdamW at `learningRate`; fills result.losses
  // (per granularity, the mean over the sequences), gradNorm, clipScale.
  bool optimize(const std::vector<std::vector<int32_t>> &sequences,
                const std::vector<float> &lossWeights, double learningRate,
                StepResult &result, matc::spec::Diagnostics &diags);

  TrainingRun(const Manifest &manifest, const CompiledModel &functions,
              const TrainingSettings &settings)
      : model(manifest), functions(functions), runSettings(settings),
        batches(settings.seed) {}

  const Manifest &model;
  CompiledModel functions;
  TrainingSettings runSettings;
  BatchSampler batches;
  std::unique_ptr<TrainableParameters> params;
  std::vector<float> decay;
  int64_t completedSteps = 0;
};

} // namespace matrt

#endif // MATRT_TRAININGRUN_H

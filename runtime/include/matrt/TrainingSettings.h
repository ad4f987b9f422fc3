#ifndef MATRT_TRAININGSETTINGS_H
#define MATRT_TRAININGSETTINGS_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matc/spec/ModelSpec.h"
#include "matrt/LearningRateSchedule.h"

#include <cstdint>
#include <string>
#include <vector>

namespace matrt {

// What defines a training run, besides the data and the starting weights
// (docs/REFERENCE.md, OUT train). Checkpoints store it, so --resume goes on
// with the same settings.
struct TrainingSettings {
  int64_t batch = 8;    // sequences per step
  int64_t seqLen = 256; // predictions per sequence (windows of seqLen + 1)
  LearningRateSchedule schedule;
  double weightDecay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double epsilon = 1e-8;
  double clipNorm = 1.0; // 0: no clipping
  // The joint loss: every granularity each step (weights lossWeights), or
  // one drawn per step with `probabilities` (--sampling p0,p1,...).
  bool sampleAll = true;
  std::vector<double> probabilities;
  std::vector<double> lossWeights;
  // AdamW's decoupled weight decay also on norms and embeddings.
  bool decayNormsAndEmbeddings = false;
  uint64_t seed = 0;
};

// Checks the parts of `settings` that depend on the model: one loss weight
// (>= 0, at least one > 0) and, when sampling, one probability (>= 0,
// summing to 1 within 1e-6) per granularity, each error naming `lossFlag`
// or `samplingFlag`; seqLen <= max_positions.
bool checkTrainingSettings(const TrainingSettings &settings,
                           const matc::spec::ModelSpec &spec,
                           int64_t maxPositions,
                           matc::spec::Diagnostics &diags);

// The train step's loss_weights for one sequence of a step: lambda_i / B
// for every granularity when sampling all, else 1 / B at `sampled` and 0
// elsewhere.
std::vector<float> stepLossWeights(const TrainingSettings &settings,
                                   int64_t sampled);

// Parses "all" or a comma list of numbers ("0.5,0.25,0.25") for
// --sampling; false on anything else, with `error` saying why.
bool parseSamplingFlag(const std::string &text, bool &all,
                       std::vector<double> &probabilities, std::string &error);
// A comma list of numbers, for --loss-weights.
bool parseNumberList(const std::string &text, std::vector<double> &values,
                     std::string &error);
// "0.5,0.25,0.25": every number with 17 significant digits, so that
// parseNumberList reads back exactly the same doubles.
std::string formatNumberList(const std::vector<double> &values);

// The name of granularity `index` of `count` in MIX syntax: S, M, L, XL
// when there are four; otherwise S for the smallest, XL for the largest
// and gK between.
std::string granularityName(int64_t index, int64_t count);

// Granularity `index` as a Mix: every layer at that width, clamped to the
// layer's d_ff (the ABI's meaning of a granularity in training).
matc::spec::Mix granularityMix(const matc::spec::ModelSpec &spec,
                               int64_t index);

} // namespace matrt

#endif // MATRT_TRAININGSETTINGS_H

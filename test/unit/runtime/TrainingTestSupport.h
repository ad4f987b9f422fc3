#ifndef MATC_TEST_UNIT_RUNTIME_TRAININGTESTSUPPORT_H
#define MATC_TEST_UNIT_RUNTIME_TRAININGTESTSUPPORT_H

// A toy "compiled with --train" model for the runtime's training tests:
// plain-loop stand-ins for matc_model_train_step, matc_model_loss,
// matc_model_grad_squared_norm and matc_model_adamw_step with the ABI's
// meaning (matc/abi/ModelAbi.h, Training), so the loop, the checkpoints and
// the command line are tested without a compiler.
//
// The toy is a factorized bigram model: after byte x it predicts
//   logits[v] = sum_{k < h} head[v][k] * embed[x][k] * norm[k]
// where h, the nested width, is 1, 2, 4 or 8 for granularity 0..3 (the
// toy spec's granularities 2, 4, 8, 16, halved), so smaller granularities
// use a prefix of the shared weights, as a MatFormer's FFN does.

#include "RuntimeTestSupport.h"

#include "matrt/ModelAbi.h"

#include <cmath>
#include <cstring>

namespace matc::test {

constexpr int64_t kToyGranularities = 4;

// Weights in manifest order.
enum ToyTrainWeight { kToyEmbed, kToyNorm, kToyHead, kNumToyTrainWeights };

inline int64_t toyTrainWidth(int64_t granularity) {
  return int64_t(1) << granularity;
}

// An elastic toy manifest that says "train": true, with an untied head.
inline std::string toyTrainManifest(bool train = true) {
  nlohmann::ordered_json manifest = toyManifestJson("elastic");
  manifest["train"] = train;
  manifest["weights"] = {
      {{"name", "model.embed_tokens.weight"}, {"shape", {256, kToyHidden}}},
      {{"name", "model.norm.weight"}, {"shape", {kToyHidden}}},
      {{"name", "lm_head.weight"}, {"shape", {256, kToyHidden}}}};
  return manifest.dump();
}

inline int64_t &toyTrainStepCalls() {
  static int64_t calls = 0;
  return calls;
}

// The loss after byte x of target y at nested width h, in double; adds
// `scale` times its gradient to `grads` when given.
inline double toyBigramLoss(int32_t x, int32_t y, int64_t h,
                            void *const *weights, void *const *grads,
                            double scale) {
  const float *embed = static_cast<const float *>(weights[kToyEmbed]);
  const float *norm = static_cast<const float *>(weights[kToyNorm]);
  const float *head = static_cast<const float *>(weights[kToyHead]);
  double z[kToyHidden] = {};
  for (int64_t k = 0; k < h; ++k)
    z[k] = double(embed[x * kToyHidden + k]) * norm[k];
  double logits[256], largest = -INFINITY;
  for (int64_t v = 0; v < 256; ++v) {
    logits[v] = 0;
    for (int64_t k = 0; k < h; ++k)
      logits[v] += double(head[v * kToyHidden + k]) * z[k];
    largest = std::max(largest, logits[v]);
  }
  double partition = 0;
  for (double logit : logits)
    partition += std::exp(logit - largest);
  double loss = largest + std::log(partition) - logits[y];
  if (!grads)
    return loss;
  float *gEmbed = static_cast<float *>(grads[kToyEmbed]);
  float *gNorm = static_cast<float *>(grads[kToyNorm]);
  float *gHead = static_cast<float *>(grads[kToyHead]);
  double dz[kToyHidden] = {};
  for (int64_t v = 0; v < 256; ++v) {
    double dlogit = std::exp(logits[v] - largest) / partition - (v == y);
    for (int64_t k = 0; k < h; ++k) {
      gHead[v * kToyHidden + k] += float(scale * dlogit * z[k]);
      dz[k] += dlogit * head[v * kToyHidden + k];
    }
  }
  for (int64_t k = 0; k < h; ++k) {
    gEmbed[x * kToyHidden + k] += float(scale * dz[k] * norm[k]);
    gNorm[k] += float(scale * dz[k] * embed[x * kToyHidden + k]);
  }
  return loss;
}

inline void toyTrainStep(int64_t seqLen, const int32_t *tokens,
                         const float *lossWeights, float *losses,
                         void *const *weights, void *const *grads) {
  ++toyTrainStepCalls();
  if (seqLen < 1 || seqLen > kToyMaxPositions)
    toyPreconditionViolated() = true;
  for (int64_t g = 0; g < kToyGranularities; ++g) {
    if (lossWeights[g] == 0)
      continue;
    double sum = 0;
    for (int64_t t = 0; t < seqLen; ++t)
      sum += toyBigramLoss(tokens[t], tokens[t + 1], toyTrainWidth(g), weights,
                           grads, double(lossWeights[g]) / double(seqLen));
    losses[g] = float(sum / double(seqLen));
  }
}
static_assert(std::is_same_v<decltype(&toyTrainStep), abi::TrainStepFn>);

// The width a layer_widths entry of the toy spec (2, 4, 8, 16) stands for.
inline void toyLoss(int64_t numTokens, const int32_t *tokens, float *loss,
                    float *, float *, const int64_t *layerWidths,
                    void *const *weights) {
  if (numTokens < 1 || numTokens > kToyMaxPositions)
    toyPreconditionViolated() = true;
  int64_t h = std::clamp<int64_t>(layerWidths[0] / 2, 1, kToyHidden);
  double sum = 0;
  for (int64_t t = 0; t < numTokens; ++t)
    sum += toyBigramLoss(tokens[t], tokens[t + 1], h, weights, nullptr, 0);
  loss[0] = float(sum);
}
static_assert(std::is_same_v<decltype(&toyLoss), abi::LossFn>);

inline int64_t toyTrainCount(int64_t i) {
  return i == kToyNorm ? kToyHidden : 256 * kToyHidden;
}

inline void toyGradSquaredNorm(void *const *grads, float *result) {
  double sum = 0;
  for (int64_t i = 0; i < kNumToyTrainWeights; ++i)
    for (int64_t j = 0; j < toyTrainCount(i); ++j) {
      double g = static_cast<const float *>(grads[i])[j];
      sum += g * g;
    }
  result[0] = float(sum);
}
static_assert(
    std::is_same_v<decltype(&toyGradSquaredNorm), abi::GradSquaredNormFn>);

inline std::vector<float> &toyLastHyper() {
  static std::vector<float> hyper;
  return hyper;
}

inline void toyAdamW(const float *hyper, const float *decay,
                     void *const *weights, void *const *grads, void *const *m,
                     void *const *v) {
  toyLastHyper().assign(hyper, hyper + abi::kNumAdamWHyper);
  float lr = hyper[abi::kAdamLearningRate], b1 = hyper[abi::kAdamBeta1],
        b2 = hyper[abi::kAdamBeta2], eps = hyper[abi::kAdamEpsilon],
        wd = hyper[abi::kAdamWeightDecay],
        c1 = hyper[abi::kAdamBiasCorrection1],
        c2 = hyper[abi::kAdamBiasCorrection2],
        scale = hyper[abi::kAdamGradScale];
  for (int64_t i = 0; i < kNumToyTrainWeights; ++i) {
    float *w = static_cast<float *>(weights[i]);
    const float *g = static_cast<const float *>(grads[i]);
    float *mi = static_cast<float *>(m[i]), *vi = static_cast<float *>(v[i]);
    for (int64_t j = 0; j < toyTrainCount(i); ++j) {
      float grad = g[j] * scale;
      mi[j] = b1 * mi[j] + (1 - b1) * grad;
      vi[j] = b2 * vi[j] + (1 - b2) * grad * grad;
      w[j] -= lr * ((mi[j] / c1) / (std::sqrt(vi[j] / c2) + eps) +
                    wd * decay[i] * w[j]);
    }
  }
}
static_assert(std::is_same_v<decltype(&toyAdamW), abi::AdamWStepFn>);

// The toy with every entry point; `manifest` must outlive the result.
inline matrt::CompiledModel toyTrainModel(const std::string &manifest) {
  matrt::CompiledModel model{manifest.c_str(), toyForward};
  model.loss = toyLoss;
  model.trainStep = toyTrainStep;
  model.gradSquaredNorm = toyGradSquaredNorm;
  model.adamwStep = toyAdamW;
  return model;
}

// A byte corpus with structure a bigram model can learn: a short phrase
// repeated.
inline std::string toyCorpus(std::size_t bytes) {
  const std::string phrase = "the cat sat on the mat. ";
  std::string text;
  while (text.size() < bytes)
    text += phrase;
  text.resize(bytes);
  return text;
}

} // namespace matc::test

#endif // MATC_TEST_UNIT_RUNTIME_TRAININGTESTSUPPORT_H

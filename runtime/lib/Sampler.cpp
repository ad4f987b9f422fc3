#include "matrt/Sampler.h"

#include <algorithm>
#include <cmath>

namespace matrt {

Sampler::Sampler(const SamplingOptions &options)
    : options(options), engine(options.seed) {}

double Sampler::uniformFromBits(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

int32_t Sampler::argmax(const float *logits, int64_t vocab) {
  int64_t best = -1;
  for (int64_t i = 0; i < vocab; ++i)
    if (!std::isnan(logits[i]) && (best < 0 || logits[i] > logits[best]))
      best = i;
  return static_cast<int32_t>(best < 0 ? 0 : best);
}

std::vector<int32_t> Sampler::topCandidates(const float *logits, int64_t vocab,
                                            int64_t topK) {
  std::vector<int32_t> indices;
  indices.reserve(static_cast<std::size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i)
    if (!std::isnan(logits[i]))
      indices.push_back(static_cast<int32_t>(i));
  if (topK > 0 && topK < static_cast<int64_t>(indices.size())) {
    auto larger = [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::nth_element(indices.begin(), indices.begin() + topK, indices.end(),
                     larger);
    indices.resize(static_cast<std::size_t>(topK));
    std::sort(indices.begin(), indices.end());
  }
  return indices;
}

int32_t Sampler::sample(const float *logits, int64_t vocab) {
  if (options.temperature <= 0)
    return argmax(logits, vocab);
  return sampleWithTemperature(logits, vocab);
}

int32_t Sampler::sampleWithTemperature(const float *logits, int64_t vocab) {
  std::vector<int32_t> candidates = topCandidates(logits, vocab, options.topK);
  if (candidates.empty())
    return 0;
  // softmax(logits / T) in double, shifted by the maximum so exp never
  // overflows; the largest candidate always gets weight 1.
  double largest = -INFINITY;
  for (int32_t index : candidates)
    largest = std::max(largest, static_cast<double>(logits[index]));
  if (std::isinf(largest))
    return largest > 0 ? argmax(logits, vocab) : candidates.front();
  std::vector<double> cumulative(candidates.size());
  double total = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    total += std::exp((logits[candidates[i]] - largest) / options.temperature);
    cumulative[i] = total;
  }
  // The first candidate whose cumulative weight exceeds u * total. Rounding
  // can leave u * total at or past the end; the last candidate with any
  // weight then takes it.
  double target = uniformFromBits(engine()) * total;
  auto chosen = std::upper_bound(cumulative.begin(), cumulative.end(), target);
  if (chosen == cumulative.end())
    chosen = std::lower_bound(cumulative.begin(), cumulative.end(), total);
  return candidates[chosen - cumulative.begin()];
}

std::vector<double> Sampler::distribution(const float *logits,
                                          int64_t vocab) const {
  std::vector<double> probabilities(static_cast<std::size_t>(vocab), 0.0);
  if (vocab == 0)
    return probabilities;
  std::vector<int32_t> candidates;
  if (options.temperature > 0)
    candidates = topCandidates(logits, vocab, options.topK);
  double largest = -INFINITY;
  for (int32_t index : candidates)
    largest = std::max(largest, static_cast<double>(logits[index]));
  // The cases where sample() makes a deterministic choice.
  if (candidates.empty() || std::isinf(largest)) {
    int32_t chosen = candidates.empty() || largest > 0 ? argmax(logits, vocab)
                                                       : candidates.front();
    probabilities[chosen] = 1;
    return probabilities;
  }
  double total = 0;
  for (int32_t index : candidates) {
    probabilities[index] =
        std::exp((logits[index] - largest) / options.temperature);
    total += probabilities[index];
  }
  for (int32_t index : candidates)
    probabilities[index] /= total;
  return probabilities;
}

int32_t Sampler::sampleFrom(const std::vector<double> &weights) {
  std::vector<double> cumulative(weights.size());
  double total = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    total += weights[i];
    cumulative[i] = total;
  }
  double target = uniform() * total;
  if (!(total > 0))
    return 0;
  auto chosen = std::upper_bound(cumulative.begin(), cumulative.end(), target);
  if (chosen == cumulative.end())
    chosen = std::lower_bound(cumulative.begin(), cumulative.end(), total);
  return static_cast<int32_t>(chosen - cumulative.begin());
}

} // namespace matrt

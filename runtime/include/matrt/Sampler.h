#ifndef MATRT_SAMPLER_H
#define MATRT_SAMPLER_H

#include <cstdint>
#include <random>
#include <vector>

namespace matrt {

struct SamplingOptions {
  // 0 is greedy; otherwise logits are divided by it before the softmax.
  double temperature = 0;
  // Sample among the k largest logits only; 0 means all of them.
  int64_t topK = 0;
  uint64_t seed = 0;
};

// Picks the next token from a row of logits.
//
// Greedy: the largest logit, the lowest index on ties. Otherwise the
// categorical draw is done here from the raw bits of std::mt19937_64 (whose
// output sequence the C++ standard fixes) rather than by
// std::discrete_distribution (whose algorithm it does not), so a seed gives
// the same tokens with every standard library.
class Sampler {
public:
  explicit Sampler(const SamplingOptions &options);

  int32_t sample(const float *logits, int64_t vocab);

  // The distribution sample() draws from, over the whole vocabulary: one-hot
  // at the greedy choice for temperature 0, else softmax(logits / T) over the
  // top-k candidates and 0 elsewhere, summing to 1. Speculative sampling
  // compares the draft's and the main model's distributions.
  std::vector<double> distribution(const float *logits, int64_t vocab) const;
  // Draws an index with probability proportional to `weights` (>= 0) from
  // one engine draw, by the cumulative rule sample() uses. All-zero weights
  // yield index 0.
  int32_t sampleFrom(const std::vector<double> &weights);
  // One uniform double in [0, 1) from the engine.
  double uniform() { return uniformFromBits(engine()); }
  bool greedy() const { return options.temperature <= 0; }

  // The largest logit, the lowest index on ties. NaN is never taken; a row
  // that is all NaN yields token 0.
  static int32_t argmax(const float *logits, int64_t vocab);

  // The candidates sampling draws from: the indices of the topK largest
  // logits (all when topK is 0 or >= vocab), ties broken towards the lower
  // index, returned in increasing index order. NaN logits are never chosen.
  static std::vector<int32_t> topCandidates(const float *logits, int64_t vocab,
                                            int64_t topK);

  // A uniform double in [0, 1) from the top 53 bits of one engine draw.
  static double uniformFromBits(uint64_t bits);

private:
  int32_t sampleWithTemperature(const float *logits, int64_t vocab);

  SamplingOptions options;
  std::mt19937_64 engine;
};

} // namespace matrt

#endif // MATRT_SAMPLER_H

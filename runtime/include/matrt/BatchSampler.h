#ifndef MATRT_BATCHSAMPLER_H
#define MATRT_BATCHSAMPLER_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace matrt {

// The random choices of a training run: which windows of the corpus make a
// batch and, with `--sampling p0,p1,...`, which granularity a step trains.
// One std::mt19937_64 drives both. Its output is specified bit for bit by
// the C++ standard, the standard distributions are not, so the
// distributions are written out here: a seed gives the same batches with
// every compiler and library. The engine's state is saved in checkpoints,
// which is what makes --resume continue the same sequence.
class BatchSampler {
public:
  explicit BatchSampler(uint64_t seed) : engine(seed) {}

  // Uniform in [0, bound) for bound >= 1: rejection sampling, so no modulo
  // bias.
  uint64_t below(uint64_t bound);
  // Uniform in [0, 1), from 53 random bits.
  double unit();
  // An index drawn with the given probabilities (non-negative, summing to 1
  // up to rounding; the last index with a positive probability absorbs the
  // rounding).
  int64_t pick(const std::vector<double> &probabilities);
  // The first byte of each of `count` windows of `windowBytes` bytes, drawn
  // uniformly from the windows that fit in `rangeBytes` (>= windowBytes).
  std::vector<uint64_t> windowStarts(int64_t count, uint64_t rangeBytes,
                                     uint64_t windowBytes);

  // The engine's state as text (the standard's operator<< form: its 312
  // words and position, which every implementation reads back); restore()
  // returns false on text that is not such a state.
  std::string state() const;
  bool restore(const std::string &text);

private:
  std::mt19937_64 engine;
};

} // namespace matrt

#endif // MATRT_BATCHSAMPLER_H

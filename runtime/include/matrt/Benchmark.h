#ifndef MATRT_BENCHMARK_H
#define MATRT_BENCHMARK_H

#include "matc/spec/Diagnostics.h"
#include "matrt/ModelRunner.h"

#include <cstdint>
#include <vector>

namespace matrt {

struct BenchmarkResult {
  int64_t promptLength = 0;
  int64_t newTokens = 0;
  double prefillSeconds = 0;
  double decodeSeconds = 0;
  double prefillTokensPerSecond() const;
  double decodeTokensPerSecond() const;
};

// A fixed, model-independent-looking prompt: a deterministic spread of ids
// over the vocabulary, so runs are comparable between binaries and mixes.
std::vector<int32_t> benchmarkPrompt(int64_t length, int64_t vocab);

// Warms up (one prefill and a few decode steps, so page faults on the mapped
// weights and first-touch of the caches are not timed), then times with
// std::chrono::steady_clock one prefill call of `promptLength` tokens and
// `newTokens` decode calls of one token each, each feeding the greedy choice
// of the previous call. Needs promptLength >= 1 and
// promptLength + newTokens <= max_positions.
bool runBenchmark(ModelRunner &runner, int64_t promptLength, int64_t newTokens,
                  BenchmarkResult &result, matc::spec::Diagnostics &diags);

} // namespace matrt

#endif // MATRT_BENCHMARK_H

#ifndef MATRT_BENCHMARK_H
#define MATRT_BENCHMARK_H

#include "matc/spec/Diagnostics.h"
#include "matrt/Generation.h"
#include "matrt/ModelRunner.h"
#include "matrt/SpeculativeDecoding.h"

#include <cstdint>
#include <vector>

namespace matrt {

struct BenchmarkResult {
  int64_t promptLength = 0;
  int64_t newTokens = 0;
  // The fastest timed run's (each phase on its own).
  double prefillSeconds = 0;
  double decodeSeconds = 0;
  // Every timed run's, in order.
  std::vector<double> prefillRuns, decodeRuns;
  // The greedy tokens of the timed runs (the same in each): the prefill's,
  // then one per decode call (newTokens + 1 in all).
  std::vector<int32_t> tokens;
  double prefillTokensPerSecond() const;
  double decodeTokensPerSecond() const;
  // The medians over the timed runs.
  double medianPrefillTokensPerSecond() const;
  double medianDecodeTokensPerSecond() const;
};

// Speculative greedy decoding timed like runBenchmark's plain decoding.
struct SpeculativeBenchmarkResult {
  GenerationResult generation; // the timed run
  SpeculationStats stats;      // of the timed run
  double decodeTokensPerSecond() const;
  double tokensPerMainCall() const;
};

// A fixed, model-independent-looking prompt: a deterministic spread of ids
// over the vocabulary, so runs are comparable between binaries and mixes.
std::vector<int32_t> benchmarkPrompt(int64_t length, int64_t vocab);

// Warms up (one prefill and a few decode steps, so page faults on the mapped
// weights and first-touch of the caches are not timed), then times with
// std::chrono::steady_clock, `repeats` times, one prefill call of
// `promptLength` tokens and `newTokens` decode calls of one token each, each
// feeding the greedy choice of the previous call. Needs promptLength >= 1,
// promptLength + newTokens <= max_positions and repeats >= 1. Runs whose
// greedy tokens differ are an error (the generated code must be
// deterministic).
bool runBenchmark(ModelRunner &runner, int64_t promptLength, int64_t newTokens,
                  int64_t repeats, BenchmarkResult &result,
                  matc::spec::Diagnostics &diags);

// The same measurement with speculative decoding: `draft` proposes up to
// `draftTokens` tokens per round and `main` verifies them (see
// generateSpeculative, greedy). After a warm-up (up to 4 decoded tokens), one
// timed run over the same prompt decodes `newTokens` tokens after the
// prefill's, so with a batch-consistent forward function its tokens equal
// runBenchmark's `tokens` on `main`. Generation never samples a token past
// max_positions, so this needs promptLength + newTokens < max_positions (one
// position fewer than runBenchmark).
bool runSpeculativeBenchmark(ModelRunner &main, ModelRunner &draft,
                             int64_t promptLength, int64_t newTokens,
                             int64_t draftTokens,
                             SpeculativeBenchmarkResult &result,
                             matc::spec::Diagnostics &diags);

} // namespace matrt

#endif // MATRT_BENCHMARK_H

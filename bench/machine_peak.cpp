// Measures this machine's single-core peaks, the baselines bench/ reports
// speeds against: f32 FMA throughput and main-memory read bandwidth.
// Prints one JSON line. Built with -O3 -march=native (see CMakeLists.txt).
#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <vector>

// One native vector register: the FMA loop must keep every chain in
// registers (16 chains of 64-byte vectors need 32 ymm on AVX2 and spill,
// which measured 7 GFLOP/s on a Zen 3 core that reaches 90).
#ifdef __AVX512F__
constexpr int kLanes = 16, kChains = 16; // 16 + 2 of 32 zmm
#else
constexpr int kLanes = 8, kChains = 12; // 12 + 2 of 16 ymm
#endif
typedef float Vec __attribute__((vector_size(4 * kLanes)));

static double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Independent FMA chains hide the FMA latency (4 cycles x 2 pipes).
static double fmaGflops() {
  Vec acc[kChains];
  Vec a, b;
  for (int i = 0; i < kLanes; ++i) {
    a[i] = 1.0f + 1e-7f * i;
    b[i] = 1e-7f;
  }
  for (int c = 0; c < kChains; ++c)
    acc[c] = a * static_cast<float>(c);
  const long iterations = 40'000'000;
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i)
    for (int c = 0; c < kChains; ++c)
      acc[c] = acc[c] * a + b;
  double elapsed = seconds(start);
  float sink = 0;
  for (int c = 0; c < kChains; ++c)
    sink += acc[c][0];
  if (sink == 42.0f)
    std::puts("");
  return 2.0 * kLanes * kChains * iterations / elapsed / 1e9;
}

// Sums a buffer far larger than the caches; best of several passes.
static double readGBs(size_t bytes = size_t(1) << 30) {
  std::vector<Vec> data(bytes / sizeof(Vec));
  for (size_t i = 0; i < data.size(); ++i)
    for (int j = 0; j < kLanes; ++j)
      data[i][j] = 1e-9f * static_cast<float>(i & 1023);
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    Vec acc[8] = {};
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i + 8 <= data.size(); i += 8)
      for (int c = 0; c < 8; ++c)
        acc[c] += data[i + c];
    double elapsed = seconds(start);
    float sink = 0;
    for (int c = 0; c < 8; ++c)
      sink += acc[c][0];
    if (sink == 42.0f)
      std::puts("");
    best = std::max(best, bytes / elapsed / 1e9);
  }
  return best;
}

/// Runs `measure` on every hardware thread at once and sums the rates.
template <typename Measure> static double onAllCores(Measure measure) {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<double> rates(threads);
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t)
    workers.emplace_back([&, t] { rates[t] = measure(); });
  for (std::thread &worker : workers)
    worker.join();
  double total = 0;
  for (double rate : rates)
    total += rate;
  return total;
}

int main() {
  double flops = fmaGflops();
  double bandwidth = readGBs();
  double allFlops = onAllCores(fmaGflops);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  double allBandwidth =
      onAllCores([&] { return readGBs((size_t(1) << 30) / threads); });
  std::printf("{\"fma_gflops_1core\":%.1f,\"read_gbs_1core\":%.1f,"
              "\"cores\":%u,\"fma_gflops_all\":%.1f,\"read_gbs_all\":%.1f}\n",
              flops, bandwidth, threads, allFlops, allBandwidth);
  return 0;
}

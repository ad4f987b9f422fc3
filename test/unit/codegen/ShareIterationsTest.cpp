//===- ShareIterationsTest.cpp - each thread's share of a static loop ----===//
//
// Parallel loops through the CPU back end, where matc-cpu-share-iterations
// computes each thread's share of every static OpenMP loop in the generated
// code, JIT-compiled and run with 1, 2, 3 and 5 threads: a one-loop nest
// with a run-time lower bound and step, and a collapsed two-loop nest with
// steps 3 and 2, over trip counts below, at and above the team size, and
// zero. Each iteration adds 1 to its element and records the thread that
// ran it, so the test sees an iteration run twice or never, and how the
// iterations were shared: contiguous shares in thread order whose sizes
// differ by at most one (libomp's balanced `static`). Two dynamic loops of
// one region (each iteration taken from a counter) run each iteration once.
//
//===----------------------------------------------------------------------===//
#include "JitModule.h"

#include "llvm/Support/DynamicLibrary.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace {

using matc::test::JitModule;

/// Both functions add 1 to `count` and store the running thread's number
/// in `owner` at every iteration of a parallel nest; the innermost loop
/// (the last dimension) stays sequential, the others become the OpenMP loop.
const char *kModule = R"(
func.func private @omp_get_thread_num() -> i32

func.func @one_loop(%count: memref<?x2xf32>, %owner: memref<?x2xf32>,
                    %lo: index, %hi: index, %step: index)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %k) = (%lo, %c0) to (%hi, %c2) step (%step, %c1) {
    %v = memref.load %count[%i, %k] : memref<?x2xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %count[%i, %k] : memref<?x2xf32>
    %t = func.call @omp_get_thread_num() : () -> i32
    %f = arith.sitofp %t : i32 to f32
    memref.store %f, %owner[%i, %k] : memref<?x2xf32>
    scf.reduce
  }
  return
}

func.func @two_loops(%count: memref<?x?x2xf32>, %owner: memref<?x?x2xf32>,
                     %lo: index, %hi0: index, %hi1: index)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%lo, %c1, %c0) to (%hi0, %hi1, %c2)
      step (%c3, %c2, %c1) {
    %v = memref.load %count[%i, %j, %k] : memref<?x?x2xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %count[%i, %j, %k] : memref<?x?x2xf32>
    %t = func.call @omp_get_thread_num() : () -> i32
    %f = arith.sitofp %t : i32 to f32
    memref.store %f, %owner[%i, %j, %k] : memref<?x?x2xf32>
    scf.reduce
  }
  return
}

func.func @dynamic_loops(%count: memref<?x2xf32>, %n: index)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %one = arith.constant 1.0 : f32
  %ten = arith.constant 10.0 : f32
  scf.parallel (%i, %k) = (%c0, %c0) to (%n, %c2) step (%c1, %c1) {
    %panel = memref.alloca() {matc.packed_panel} : memref<1xf32>
    %v = memref.load %count[%i, %k] : memref<?x2xf32>
    memref.store %v, %panel[%c0] : memref<1xf32>
    %p = memref.load %panel[%c0] : memref<1xf32>
    %w = arith.addf %p, %one : f32
    memref.store %w, %count[%i, %k] : memref<?x2xf32>
    scf.reduce
  }
  scf.parallel (%i, %k) = (%c1, %c0) to (%n, %c1) step (%c2, %c1) {
    %panel = memref.alloca() {matc.packed_panel} : memref<1xf32>
    %v = memref.load %count[%i, %k] : memref<?x2xf32>
    memref.store %v, %panel[%c0] : memref<1xf32>
    %p = memref.load %panel[%c0] : memref<1xf32>
    %w = arith.addf %p, %ten : f32
    memref.store %w, %count[%i, %k] : memref<?x2xf32>
    scf.reduce
  }
  return
}
)";

/// A nest's iterations over the outer loops: `lo` to `hi0` step 3 (step
/// `step` for the one-loop nest), and 1 to `hi1` step 2 for the second.
struct Nest {
  const char *name;
  bool twoLoops;
  int64_t lo, hi0, step, hi1;
};

void PrintTo(const Nest &n, std::ostream *os) { *os << n.name; }

struct Case {
  Nest nest;
  int threads;
};

void PrintTo(const Case &c, std::ostream *os) {
  *os << c.nest.name << " on " << c.threads << " threads";
}

/// A row-major f32 buffer of any rank and its memref descriptor.
template <int Rank> struct Buffer {
  explicit Buffer(std::array<int64_t, Rank> shape, float fill) {
    int64_t size = 1;
    for (int d = Rank - 1; d >= 0; --d) {
      memref.sizes[d] = shape[d];
      memref.strides[d] = size;
      size *= shape[d];
    }
    data.assign(static_cast<size_t>(size), fill);
    memref.basePtr = memref.data = data.data();
    memref.offset = 0;
  }
  std::vector<float> data;
  StridedMemRefType<float, Rank> memref;
};

/// Sets the team size of the regions this thread starts (the JIT loaded
/// libomp) and restores the previous one when it goes out of scope, so
/// that later tests in the process run with the default.
class TeamSize {
public:
  TeamSize() {
    using llvm::sys::DynamicLibrary;
    set = reinterpret_cast<void (*)(int)>(
        DynamicLibrary::SearchForAddressOfSymbol("omp_set_num_threads"));
    auto get = reinterpret_cast<int (*)()>(
        DynamicLibrary::SearchForAddressOfSymbol("omp_get_max_threads"));
    if (set && get)
      previous = get();
  }
  ~TeamSize() {
    if (found())
      set(previous);
  }
  bool found() const { return set && previous > 0; }
  void operator()(int threads) const { set(threads); }

private:
  void (*set)(int) = nullptr;
  int previous = 0;
};

class ShareIterationsTest : public ::testing::TestWithParam<Case> {
protected:
  static void SetUpTestSuite() {
    std::string error;
    module = JitModule::compile(kModule, error).release();
    ASSERT_NE(module, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete module;
    module = nullptr;
  }
  static JitModule *module;
};

JitModule *ShareIterationsTest::module = nullptr;

TEST_P(ShareIterationsTest, EachIterationRunsOnceInBalancedShares) {
  const Case &c = GetParam();
  const Nest &n = c.nest;
  ASSERT_NE(module, nullptr);
  TeamSize teamSize;
  ASSERT_TRUE(teamSize.found());
  teamSize(c.threads);

  // The outer iterations in order, as (row of the buffer, column).
  const int64_t rows = n.hi0 + 4, columns = n.twoLoops ? n.hi1 + 3 : 1;
  std::vector<std::pair<int64_t, int64_t>> iterations;
  for (int64_t i = n.lo; i < n.hi0; i += n.twoLoops ? 3 : n.step)
    for (int64_t j = n.twoLoops ? 1 : 0; j < (n.twoLoops ? n.hi1 : 1); j += 2)
      iterations.emplace_back(i, j);

  const float untouched = -1.0f;
  std::vector<float> count, owner;
  if (n.twoLoops) {
    Buffer<3> counts({rows, columns, 2}, 0.0f),
        owners({rows, columns, 2}, untouched);
    auto run = reinterpret_cast<void (*)(
        StridedMemRefType<float, 3> *, StridedMemRefType<float, 3> *, int64_t,
        int64_t, int64_t)>(module->lookup("two_loops"));
    ASSERT_NE(run, nullptr);
    run(&counts.memref, &owners.memref, n.lo, n.hi0, n.hi1);
    count = counts.data, owner = owners.data;
  } else {
    Buffer<2> counts({rows, 2}, 0.0f), owners({rows, 2}, untouched);
    auto run = reinterpret_cast<void (*)(
        StridedMemRefType<float, 2> *, StridedMemRefType<float, 2> *, int64_t,
        int64_t, int64_t)>(module->lookup("one_loop"));
    ASSERT_NE(run, nullptr);
    run(&counts.memref, &owners.memref, n.lo, n.hi0, n.step);
    count = counts.data, owner = owners.data;
  }
  auto at = [&](int64_t i, int64_t j, int64_t k) {
    return static_cast<size_t>((i * columns + j) * 2 + k);
  };

  // Every iteration ran once (both elements of its innermost loop), and
  // nothing else was written.
  std::vector<float> expected(count.size(), 0.0f);
  for (auto [i, j] : iterations)
    expected[at(i, j, 0)] = expected[at(i, j, 1)] = 1.0f;
  for (size_t e = 0; e < count.size(); ++e)
    ASSERT_EQ(count[e], expected[e]) << "element " << e;

  // The shares: thread numbers never decrease along the iterations, each
  // share is contiguous, and the sizes are T/N + 1 for the first T mod N
  // threads and T/N for the others.
  const int64_t total = static_cast<int64_t>(iterations.size());
  std::vector<int64_t> share(static_cast<size_t>(c.threads), 0);
  int previous = 0;
  for (auto [i, j] : iterations) {
    float t = owner[at(i, j, 0)];
    ASSERT_EQ(owner[at(i, j, 1)], t);
    int thread = static_cast<int>(t);
    ASSERT_GE(thread, previous) << "iteration (" << i << ", " << j << ")";
    ASSERT_LT(thread, c.threads);
    ++share[static_cast<size_t>(thread)];
    previous = thread;
  }
  for (int t = 0; t < c.threads; ++t)
    EXPECT_EQ(share[static_cast<size_t>(t)],
              total / c.threads + (t < total % c.threads ? 1 : 0))
        << "thread " << t << " of " << c.threads << ", " << total
        << " iterations";
}

std::vector<Case> cases() {
  const Nest nests[] = {
      {"one_loop_17", false, 0, 17, 1, 0},
      {"one_loop_from_2_step_3", false, 2, 23, 3, 0},
      {"one_loop_single", false, 4, 5, 1, 0},
      {"one_loop_empty", false, 6, 6, 1, 0},
      {"one_loop_upper_below_lower", false, 9, 5, 2, 0},
      {"two_loops_from_1", true, 1, 20, 3, 12},
      {"two_loops_one_column", true, 0, 10, 3, 2},
      {"two_loops_empty_inner", true, 0, 10, 3, 1},
  };
  std::vector<Case> all;
  for (const Nest &n : nests)
    for (int threads : {1, 2, 3, 5})
      all.push_back({n, threads});
  return all;
}

INSTANTIATE_TEST_SUITE_P(Nests, ShareIterationsTest,
                         ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::string(info.param.nest.name) + "_" +
                                  std::to_string(info.param.threads) +
                                  "_threads";
                         });

/// Two dynamic loops in one region, each with its own counter (loops with a
/// packed kernel's panel buffer get `schedule(dynamic)` from
/// matc-cpu-schedule-loops; their bodies allocate it in an alloca scope,
/// which becomes a stack save and restore): every iteration of each runs
/// once, for team sizes below and above the trip counts, run twice in a
/// row (the counters start from zero each call).
TEST(ShareIterationsDynamicTest, EachIterationRunsOnce) {
  std::string error;
  auto module = JitModule::compile(kModule, error);
  ASSERT_TRUE(module) << error;
  TeamSize teamSize;
  ASSERT_TRUE(teamSize.found());
  auto run = reinterpret_cast<void (*)(StridedMemRefType<float, 2> *, int64_t)>(
      module->lookup("dynamic_loops"));
  ASSERT_NE(run, nullptr);
  for (int threads : {1, 2, 3, 5})
    for (int64_t n : {0, 1, 2, 7, 40}) {
      teamSize(threads);
      Buffer<2> counts({n + 2, 2}, 0.0f);
      run(&counts.memref, n);
      run(&counts.memref, n);
      for (int64_t i = 0; i < n + 2; ++i)
        for (int64_t k = 0; k < 2; ++k) {
          float expected =
              i < n ? 2.0f + (k == 0 && i % 2 == 1 ? 20.0f : 0) : 0.0f;
          ASSERT_EQ(counts.data[static_cast<size_t>(i * 2 + k)], expected)
              << "[" << i << ", " << k << "], n " << n << ", " << threads
              << " threads";
        }
    }
}

} // namespace

//===- TransposeKernelTest.cpp - the CPU's register-tiled transpose -------===//
//
// linalg.transpose [T, H, D] -> [H, D, T] (the V cache's append) through
// the CPU back end (matc-cpu-vectorize-transposes: lanes x lanes tiles,
// the edges as loops), JIT-compiled, against the index arithmetic, for
// shapes that reach every path: whole tiles only, a partial tile along T
// (a prompt), along D, along both, fewer rows than a tile (decode: no tile
// at all), at 8 lanes (AVX2) and 16 (AVX-512; LLVM splits the vectors on
// a CPU without it). The output is a window of a wider buffer, as the
// cache is, so a write past the window's end is caught too. A copy is
// exact: every element must match bit for bit.
//
//===----------------------------------------------------------------------===//
#include "JitModule.h"

#include "CPU/CpuTarget.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace {

using matc::test::Buffer3d;
using matc::test::JitModule;

struct Shape {
  const char *name;
  int64_t tokens, heads, headDim, lanes;
};

void PrintTo(const Shape &s, std::ostream *os) {
  *os << s.name << " (T " << s.tokens << ", H " << s.heads << ", D "
      << s.headDim << ", " << s.lanes << " lanes)";
}

/// @append: cache[:, :, start:start+T] = transpose(v) with the cache
/// [H, D, positions].
const char *kModule = R"(
func.func @append(%v: memref<?x?x?xf32>, %cache: memref<?x?x?xf32>, %start: index)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %t = memref.dim %v, %c0 : memref<?x?x?xf32>
  %h = memref.dim %cache, %c0 : memref<?x?x?xf32>
  %d = memref.dim %cache, %c1 : memref<?x?x?xf32>
  %window = memref.subview %cache[0, 0, %start] [%h, %d, %t] [1, 1, 1]
      : memref<?x?x?xf32> to memref<?x?x?xf32, strided<[?, ?, 1], offset: ?>>
  linalg.transpose ins(%v : memref<?x?x?xf32>)
      outs(%window : memref<?x?x?xf32, strided<[?, ?, 1], offset: ?>>)
      permutation = [1, 2, 0]
  return
}
)";

class TransposeKernelTest : public ::testing::TestWithParam<Shape> {};

TEST_P(TransposeKernelTest, MatchesTheIndexArithmetic) {
  const Shape &shape = GetParam();
  matc::cpu::KernelConfig config =
      matc::cpu::chooseKernelConfig(matc::cpu::CpuTarget::host());
  config.vectorLanes = shape.lanes;
  std::string error;
  auto module = JitModule::compile(kModule, error, config);
  ASSERT_TRUE(module) << error;
  using Memref = StridedMemRefType<float, 3>;
  auto append = reinterpret_cast<void (*)(Memref *, Memref *, int64_t)>(
      module->lookup("append"));
  ASSERT_NE(append, nullptr);

  const int64_t start = 3, positions = start + shape.tokens + 5;
  Buffer3d v(shape.tokens, shape.heads, shape.headDim);
  for (int64_t t = 0; t < shape.tokens; ++t)
    for (int64_t h = 0; h < shape.heads; ++h)
      for (int64_t d = 0; d < shape.headDim; ++d)
        v.at(t, h, d) = static_cast<float>((t * 1000 + h) * 100 + d);
  Buffer3d cache(shape.heads, shape.headDim, positions);
  const float untouched = -1.0f;
  for (float &x : cache.data)
    x = untouched;
  append(v.descriptor(), cache.descriptor(), start);

  int64_t wrong = 0;
  for (int64_t h = 0; h < shape.heads; ++h)
    for (int64_t d = 0; d < shape.headDim; ++d)
      for (int64_t p = 0; p < positions; ++p) {
        bool inside = p >= start && p < start + shape.tokens;
        float expected = inside ? v.at(p - start, h, d) : untouched;
        if (cache.at(h, d, p) != expected && wrong++ < 5)
          ADD_FAILURE() << "cache[" << h << ", " << d << ", " << p
                        << "] = " << cache.at(h, d, p) << ", expected "
                        << expected;
      }
  EXPECT_EQ(wrong, 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, TransposeKernelTest,
                         ::testing::Values(Shape{"whole_tiles", 16, 2, 16, 8},
                                           Shape{"prompt_edge", 133, 2, 16, 8},
                                           Shape{"head_dim_edge", 16, 3, 12, 8},
                                           Shape{"both_edges", 21, 2, 20, 8},
                                           Shape{"decode", 1, 4, 16, 8},
                                           Shape{"avx512_tiles", 35, 2, 32, 16},
                                           Shape{"avx512_decode", 3, 2, 24,
                                                 16}),
                         [](const ::testing::TestParamInfo<Shape> &info) {
                           return std::string(info.param.name);
                         });

} // namespace

//===- MatmulKernelTest.cpp - the CPU matmul kernels against a reference --===//
//
// C += A x W^T through the CPU back end's kernels (matc-vectorize-matmuls),
// JIT-compiled, against a plain-loop double-precision reference, for shapes
// that reach every path: the packed kernel (many rows) with full and
// leftover row blocks, several weight blocks along k and a short last one,
// panels and leftover columns (which the dot kernel takes), the dot kernel
// alone (decode, fewer rows than a packed block) with its scalar k tail; a
// weight that is a column-prefix view of a wider one (a nested down
// projection), and bf16 weights. The backward's layouts (C += A x B and
// C += A^T x B, B [K, N]) run on the outer-product kernel, packing B's
// panels (and copying A^T to k-innermost first), with leftover columns as
// scalar dot products. Each function runs twice: accumulating into C, and
// with C zero-filled just before the contraction (the kernels then start
// from zero without reading C, which holds NaNs so that a read shows).
// Attention's batched backward contractions are in AttentionGradTest.cpp.
// Each kernel shape runs:
// the host's, AVX2's and AVX-512's (16-lane vectors run on any x86-64: LLVM
// splits them), and a shallow weight block that makes many of them.
//
// Tolerance: the reference is exact to double rounding; the kernel sums K
// f32 products in some order, so |error| <= K * 2^-24 * sum_k |a w| (the
// standard bound for any summation order) plus the rounding of the old C.
// Wrong indexing, a lost block or a double-counted one moves results by a
// whole product, far outside it.
//
//===----------------------------------------------------------------------===//
#include "JitModule.h"

#include "CPU/CpuTarget.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace {

using matc::test::JitModule;

/// C[M, N] += A[M, K] x W[N, 0:K]^T with W stored [N, stride].
struct Shape {
  const char *name;
  int64_t m, n, k, stride;
};

struct Kernel {
  const char *name;
  int64_t lanes, rows, columns, packedRows, packedVectors, packedDepth;
};

void PrintTo(const Shape &s, std::ostream *os) {
  *os << s.name << " (M " << s.m << ", N " << s.n << ", K " << s.k
      << ", row stride " << s.stride << ")";
}

/// The functions under test. @matmul: C += A x W^T with the weight a
/// [N, K] view of [N, stride] (a projection); @matmul_plain: C += A x B with
/// B [K, N] (dX = dY x W in the backward); @matmul_transposed_a: C += A^T x
/// B with A [K, M] (dW = dY^T x X). Each also as @..._zero_filled: C = 0,
/// then the same.
std::string moduleText(bool bf16) {
  std::string functions = R"(
func.func @matmul_plainSUFFIX(%a: memref<?x?xf32>, %b: memref<?x?xWT>, %c: memref<?x?xf32>)
    attributes {llvm.emit_c_interface} {
  FILL
  linalg.matmul ins(%a, %b : memref<?x?xf32>, memref<?x?xWT>)
      outs(%c : memref<?x?xf32>)
  return
}
func.func @matmul_transposed_aSUFFIX(%a: memref<?x?xf32>, %b: memref<?x?xWT>, %c: memref<?x?xf32>)
    attributes {llvm.emit_c_interface} {
  FILL
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                 affine_map<(m, n, k) -> (k, n)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<?x?xf32>, memref<?x?xWT>)
      outs(%c : memref<?x?xf32>)
  return
}
func.func @matmulSUFFIX(%a: memref<?x?xf32>, %w: memref<?x?xWT>, %c: memref<?x?xf32>,
                  %k: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %w, %c0 : memref<?x?xWT>
  %view = memref.subview %w[0, 0] [%n, %k] [1, 1]
      : memref<?x?xWT> to memref<?x?xWT, strided<[?, 1]>>
  FILL
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %view : memref<?x?xf32>, memref<?x?xWT, strided<[?, 1]>>)
      outs(%c : memref<?x?xf32>)
  return
}
)";
  auto replaceAll = [](std::string text, const std::string &from,
                       const std::string &to) {
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
    return text;
  };
  std::string accumulating =
      replaceAll(replaceAll(functions, "SUFFIX", ""), "FILL", "");
  std::string zeroFilled =
      replaceAll(replaceAll(functions, "SUFFIX", "_zero_filled"), "FILL",
                 "%zero = arith.constant 0.0 : f32\n"
                 "  linalg.fill ins(%zero : f32) outs(%c : memref<?x?xf32>)");
  return replaceAll(accumulating + zeroFilled, "WT", bf16 ? "bf16" : "f32");
}

template <typename T>
StridedMemRefType<T, 2> descriptor(std::vector<T> &data, int64_t rows,
                                   int64_t columns) {
  StridedMemRefType<T, 2> memref;
  memref.basePtr = memref.data = data.data();
  memref.offset = 0;
  memref.sizes[0] = rows;
  memref.sizes[1] = columns;
  memref.strides[0] = columns;
  memref.strides[1] = 1;
  return memref;
}

/// bf16 bits of `value` (round to nearest even) and back.
uint16_t toBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}
float fromBf16(uint16_t half) {
  uint32_t bits = static_cast<uint32_t>(half) << 16;
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

const Shape kShapes[] = {
    // 13 rows: two packed blocks of 6 and a single row; 603 = 2 x 256 + 91
    // values of k (with weight blocks of 256, a short last one; AVX2's
    // blocks of 1024 make one short block; 91 mod 8 = 3 for the dot
    // kernel's scalar tail); 133 columns: full panels of 16 and of 64 plus
    // leftovers for the dot kernel.
    {"prefill", 13, 133, 603, 603},
    // A nested down projection: the first 200 of 700 columns of each row.
    {"prefix_view", 20, 64, 200, 700},
    // Decode: one row, the dot kernel alone.
    {"decode", 1, 133, 603, 603},
    // Fewer rows than a packed block.
    {"few_rows", 5, 70, 40, 40},
    // Exactly the packed block and one panel.
    {"one_block", 6, 16, 8, 8},
};

const Kernel kKernels[] = {
    {"avx2", 8, 3, 3, 6, 2, 1024}, // one short weight block of K = 603
    {"avx512", 16, 4, 4, 6, 4, 256},
    {"shallow_blocks", 8, 3, 3, 6, 2, 16},
    {"dot_only", 8, 3, 3, 0, 2, 256},
};

/// Which operand layout: see moduleText.
enum class Layout { TransposedB, Plain, TransposedA };

const char *layoutSuffix(Layout layout) {
  switch (layout) {
  case Layout::TransposedB:
    return "";
  case Layout::Plain:
    return "_plain";
  case Layout::TransposedA:
    return "_transposed_a";
  }
  return "";
}

class MatmulKernelTest
    : public ::testing::TestWithParam<std::tuple<Shape, Kernel, bool, Layout>> {
};

TEST_P(MatmulKernelTest, MatchesReference) {
  auto [shape, kernel, bf16, layout] = GetParam();
  // The backward's layouts have no prefix view: B is [K, N].
  if (layout != Layout::TransposedB)
    shape.stride = shape.k;
  matc::cpu::KernelConfig config;
  config.vectorLanes = kernel.lanes;
  config.matmulRows = kernel.rows;
  config.matmulColumns = kernel.columns;
  config.packedRows = kernel.packedRows;
  config.packedVectors = kernel.packedVectors;
  config.packedDepth = kernel.packedDepth;
  std::string error;
  auto module = JitModule::compile(moduleText(bf16), error, config);
  ASSERT_TRUE(module) << error;

  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> a(shape.m * shape.k), w(shape.n * shape.stride),
      c(shape.m * shape.n);
  for (float &x : a)
    x = uniform(random);
  for (float &x : w)
    x = uniform(random);
  for (float &x : c)
    x = uniform(random);
  std::vector<uint16_t> wBf16(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    wBf16[i] = toBf16(w[i]);
    if (bf16)
      w[i] = fromBf16(wBf16[i]); // the reference sees the stored weights
  }
  // expected: C + A W^T; fromZero: A W^T (the zero-filled functions).
  std::vector<double> expected(c.size()), fromZero(c.size()), bound(c.size());
  for (int64_t i = 0; i < shape.m; ++i)
    for (int64_t j = 0; j < shape.n; ++j) {
      double sum = 0, magnitude = std::fabs(c[i * shape.n + j]);
      for (int64_t k = 0; k < shape.k; ++k) {
        // Every layout multiplies the same logical A[i, k] and W[j, k].
        double product = double(a[i * shape.k + k]) * w[j * shape.stride + k];
        sum += product;
        magnitude += std::fabs(product);
      }
      fromZero[i * shape.n + j] = sum;
      expected[i * shape.n + j] = sum + c[i * shape.n + j];
      bound[i * shape.n + j] = (shape.k + 1) * std::ldexp(magnitude, -24);
    }

  // B[k, n] = W[n, k]; A^T stored [K, M] for the transposed-A layout.
  std::vector<float> aT(a.size()), b(w.size());
  std::vector<uint16_t> bBf16(w.size());
  if (layout != Layout::TransposedB) {
    for (int64_t i = 0; i < shape.m; ++i)
      for (int64_t k = 0; k < shape.k; ++k)
        aT[k * shape.m + i] = a[i * shape.k + k];
    for (int64_t j = 0; j < shape.n; ++j)
      for (int64_t k = 0; k < shape.k; ++k) {
        b[k * shape.n + j] = w[j * shape.k + k];
        bBf16[k * shape.n + j] = wBf16[j * shape.k + k];
      }
  }
  // Runs the layout's function (zero-filled or not) on `cData`.
  auto run = [&](bool zeroFilled, std::vector<float> &cData) {
    auto cRef = descriptor(cData, shape.m, shape.n);
    std::string suffix = zeroFilled ? "_zero_filled" : "";
    if (layout == Layout::TransposedB) {
      auto aRef = descriptor(a, shape.m, shape.k);
      void *function = module->lookup("matmul" + suffix);
      ASSERT_NE(function, nullptr);
      if (bf16) {
        auto wRef = descriptor(wBf16, shape.n, shape.stride);
        reinterpret_cast<void (*)(StridedMemRefType<float, 2> *,
                                  StridedMemRefType<uint16_t, 2> *,
                                  StridedMemRefType<float, 2> *, int64_t)>(
            function)(&aRef, &wRef, &cRef, shape.k);
      } else {
        auto wRef = descriptor(w, shape.n, shape.stride);
        reinterpret_cast<void (*)(StridedMemRefType<float, 2> *,
                                  StridedMemRefType<float, 2> *,
                                  StridedMemRefType<float, 2> *, int64_t)>(
            function)(&aRef, &wRef, &cRef, shape.k);
      }
      return;
    }
    bool transposedA = layout == Layout::TransposedA;
    auto aRef = transposedA ? descriptor(aT, shape.k, shape.m)
                            : descriptor(a, shape.m, shape.k);
    void *function = module->lookup(
        (transposedA ? "matmul_transposed_a" : "matmul_plain") + suffix);
    ASSERT_NE(function, nullptr);
    if (bf16) {
      auto bRef = descriptor(bBf16, shape.k, shape.n);
      reinterpret_cast<void (*)(
          StridedMemRefType<float, 2> *, StridedMemRefType<uint16_t, 2> *,
          StridedMemRefType<float, 2> *)>(function)(&aRef, &bRef, &cRef);
    } else {
      auto bRef = descriptor(b, shape.k, shape.n);
      reinterpret_cast<void (*)(
          StridedMemRefType<float, 2> *, StridedMemRefType<float, 2> *,
          StridedMemRefType<float, 2> *)>(function)(&aRef, &bRef, &cRef);
    }
  };
  auto check = [&](const char *what, const std::vector<float> &got,
                   const std::vector<double> &want) {
    int failures = 0;
    for (int64_t i = 0; i < shape.m && failures < 5; ++i)
      for (int64_t j = 0; j < shape.n && failures < 5; ++j) {
        size_t at = i * shape.n + j;
        if (!(std::fabs(got[at] - want[at]) <= bound[at])) {
          ADD_FAILURE() << what << ": C[" << i << ", " << j << "] = " << got[at]
                        << ", reference " << want[at] << " (bound " << bound[at]
                        << ")";
          ++failures;
        }
      }
  };
  run(false, c);
  check("accumulating", c, expected);
  std::vector<float> nans(c.size(), std::nanf(""));
  run(true, nans);
  check("zero-filled", nans, fromZero);
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, MatmulKernelTest,
    ::testing::Combine(::testing::ValuesIn(kShapes),
                       ::testing::ValuesIn(kKernels), ::testing::Bool(),
                       ::testing::Values(Layout::TransposedB, Layout::Plain,
                                         Layout::TransposedA)),
    [](const auto &info) {
      return std::string(std::get<0>(info.param).name) + "_" +
             std::get<1>(info.param).name +
             (std::get<2>(info.param) ? "_bf16" : "_f32") +
             layoutSuffix(std::get<3>(info.param));
    });

} // namespace

//===- AttentionGradTest.cpp - causal_attention_grad against references ---===//
//
// The generated backward of the attention core (matformer.causal_attention_grad
// through matc-to-linalg and the CPU back end) against a plain-loop
// double-precision reference, and that reference against central finite
// differences of a plain-loop forward, whose agreement with the generated
// matformer.causal_attention is checked too. So the chain is: compiled
// forward == reference forward (the op's meaning), reference gradient == d/dx
// of the reference forward, compiled gradient == reference gradient.
//
// Tolerances. Finite differences, in double, step 1e-5: truncation error
// ~h^2 |L'''| ~ 1e-10 and rounding ~1e-16 |L| / h ~ 1e-10, so 1e-7 (absolute,
// gradients are O(1)) leaves a wide margin and still catches any wrong term.
// Compiled f32 against the double reference: each gradient is a chain of
// four dot products over at most 80 terms and an exp that the CPU back end
// approximates by a polynomial to a few ulp, so errors of ~1e-7 are expected
// (and seen); 1e-5 * max(1, max |reference|) allows for them, while a wrong
// mask, scale or head mapping moves results by 1e-2 or more. The large-score
// case (scores up to ~100, where exp would overflow f32 without the max
// subtracted) uses 1e-4: f32 scores of that size carry absolute rounding ~100 *
// 6e-8 ~ 1e-5, which the exponentials turn into relative errors of that order.
//
//===----------------------------------------------------------------------===//
#include "JitModule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using matc::test::Buffer3d;
using matc::test::JitModule;
using Memref = StridedMemRefType<float, 3>;

/// The static part of the attention: heads, kv_heads, head_dim, scale.
struct Heads {
  int64_t heads, kvHeads, headDim;
  double scale;
};

/// One problem: T query rows at positions start..start+T-1 against S keys;
/// `magnify` multiplies the queries (large scores).
struct Problem {
  const char *name;
  Heads shape;
  int64_t tokens, positions, start;
  double magnify = 1.0;
  bool withStart = true;
  /// The kernel shapes: the host's, or AVX-512's (16-lane vectors, which
  /// LLVM splits where the CPU lacks them).
  bool avx512Kernels = false;
  /// Query rows per block of the forward's attention (0: the default):
  /// small blocks make several, each over the key positions up to its last
  /// row's.
  int64_t queryBlock = 0;
};

/// Names the problem in failure messages.
void PrintTo(const Problem &p, std::ostream *os) {
  *os << p.name << " (heads " << p.shape.heads << ", kv_heads "
      << p.shape.kvHeads << ", head_dim " << p.shape.headDim << ", T "
      << p.tokens << ", S " << p.positions << ", start " << p.start << ")";
}

std::string format(const char *pattern, const Heads &s) {
  std::string text = pattern;
  auto replace = [&](const std::string &key, const std::string &value) {
    for (size_t at = text.find(key); at != std::string::npos;
         at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  };
  char scale[64];
  std::snprintf(scale, sizeof(scale), "%.17e", s.scale);
  replace("$H", std::to_string(s.heads));
  replace("$K", std::to_string(s.kvHeads));
  replace("$D", std::to_string(s.headDim));
  replace("$SCALE", scale);
  return text;
}

/// The forward, its gradient at a start position, and its gradient without
/// one, on buffers the test owns.
std::string moduleText(const Heads &shape) {
  return format(R"mlir(
func.func @attention(%q: memref<?x$Hx$Dxf32>, %k: memref<?x$Kx$Dxf32>, %v: memref<$Kx$Dx?xf32>,
                     %start: index, %out: memref<?x$Hx$Dxf32>) attributes {llvm.emit_c_interface} {
  %qt = bufferization.to_tensor %q restrict : memref<?x$Hx$Dxf32> to tensor<?x$Hx$Dxf32>
  %kt = bufferization.to_tensor %k restrict : memref<?x$Kx$Dxf32> to tensor<?x$Kx$Dxf32>
  %vt = bufferization.to_tensor %v restrict : memref<$Kx$Dx?xf32> to tensor<$Kx$Dx?xf32>
  %o = matformer.causal_attention %qt, %kt, %vt at %start scale($SCALE)
      : tensor<?x$Hx$Dxf32>, tensor<?x$Kx$Dxf32>, tensor<$Kx$Dx?xf32>
  bufferization.materialize_in_destination %o in restrict writable %out
      : (tensor<?x$Hx$Dxf32>, memref<?x$Hx$Dxf32>) -> ()
  return
}

func.func @attention_grad(%q: memref<?x$Hx$Dxf32>, %k: memref<?x$Kx$Dxf32>, %v: memref<$Kx$Dx?xf32>,
                          %do: memref<?x$Hx$Dxf32>, %start: index, %dq: memref<?x$Hx$Dxf32>,
                          %dk: memref<?x$Kx$Dxf32>, %dv: memref<$Kx$Dx?xf32>) attributes {llvm.emit_c_interface} {
  %qt = bufferization.to_tensor %q restrict : memref<?x$Hx$Dxf32> to tensor<?x$Hx$Dxf32>
  %kt = bufferization.to_tensor %k restrict : memref<?x$Kx$Dxf32> to tensor<?x$Kx$Dxf32>
  %vt = bufferization.to_tensor %v restrict : memref<$Kx$Dx?xf32> to tensor<$Kx$Dx?xf32>
  %dot = bufferization.to_tensor %do restrict : memref<?x$Hx$Dxf32> to tensor<?x$Hx$Dxf32>
  %gq, %gk, %gv = matformer.causal_attention_grad %qt, %kt, %vt, %dot at %start scale($SCALE)
      : tensor<?x$Hx$Dxf32>, tensor<?x$Kx$Dxf32>, tensor<$Kx$Dx?xf32>, tensor<?x$Hx$Dxf32>
  bufferization.materialize_in_destination %gq in restrict writable %dq
      : (tensor<?x$Hx$Dxf32>, memref<?x$Hx$Dxf32>) -> ()
  bufferization.materialize_in_destination %gk in restrict writable %dk
      : (tensor<?x$Kx$Dxf32>, memref<?x$Kx$Dxf32>) -> ()
  bufferization.materialize_in_destination %gv in restrict writable %dv
      : (tensor<$Kx$Dx?xf32>, memref<$Kx$Dx?xf32>) -> ()
  return
}

func.func @attention_grad_from_zero(%q: memref<?x$Hx$Dxf32>, %k: memref<?x$Kx$Dxf32>, %v: memref<$Kx$Dx?xf32>,
                                    %do: memref<?x$Hx$Dxf32>, %dq: memref<?x$Hx$Dxf32>,
                                    %dk: memref<?x$Kx$Dxf32>, %dv: memref<$Kx$Dx?xf32>) attributes {llvm.emit_c_interface} {
  %qt = bufferization.to_tensor %q restrict : memref<?x$Hx$Dxf32> to tensor<?x$Hx$Dxf32>
  %kt = bufferization.to_tensor %k restrict : memref<?x$Kx$Dxf32> to tensor<?x$Kx$Dxf32>
  %vt = bufferization.to_tensor %v restrict : memref<$Kx$Dx?xf32> to tensor<$Kx$Dx?xf32>
  %dot = bufferization.to_tensor %do restrict : memref<?x$Hx$Dxf32> to tensor<?x$Hx$Dxf32>
  %gq, %gk, %gv = matformer.causal_attention_grad %qt, %kt, %vt, %dot scale($SCALE)
      : tensor<?x$Hx$Dxf32>, tensor<?x$Kx$Dxf32>, tensor<$Kx$Dx?xf32>, tensor<?x$Hx$Dxf32>
  bufferization.materialize_in_destination %gq in restrict writable %dq
      : (tensor<?x$Hx$Dxf32>, memref<?x$Hx$Dxf32>) -> ()
  bufferization.materialize_in_destination %gk in restrict writable %dk
      : (tensor<?x$Kx$Dxf32>, memref<?x$Kx$Dxf32>) -> ()
  bufferization.materialize_in_destination %gv in restrict writable %dv
      : (tensor<$Kx$Dx?xf32>, memref<$Kx$Dx?xf32>) -> ()
  return
}
)mlir",
                shape);
}

//===----------------------------------------------------------------------===//
// The reference: plain loops in double precision, straight from the ops'
// descriptions (q [T, H, D], keys [S, KVH, D], values [KVH, D, S]).
//===----------------------------------------------------------------------===//

struct Tensors {
  std::vector<double> q, k, v; // the forward's operands
};

struct Reference {
  const Problem &p;
  int64_t group() const { return p.shape.heads / p.shape.kvHeads; }
  size_t qIndex(int64_t t, int64_t h, int64_t d) const {
    return (t * p.shape.heads + h) * p.shape.headDim + d;
  }
  size_t kIndex(int64_t s, int64_t g, int64_t d) const {
    return (s * p.shape.kvHeads + g) * p.shape.headDim + d;
  }
  size_t vIndex(int64_t g, int64_t d, int64_t s) const {
    return (g * p.shape.headDim + d) * p.positions + s;
  }
  bool visible(int64_t t, int64_t s) const { return s <= p.start + t; }

  /// Softmax probabilities of row (t, h) over all S positions (0 if masked).
  std::vector<double> probabilities(const Tensors &x, int64_t t,
                                    int64_t h) const {
    int64_t g = h / group();
    std::vector<double> scores(p.positions, 0.0), probs(p.positions, 0.0);
    double max = -INFINITY;
    for (int64_t s = 0; s < p.positions; ++s) {
      if (!visible(t, s))
        continue;
      double dot = 0;
      for (int64_t d = 0; d < p.shape.headDim; ++d)
        dot += x.q[qIndex(t, h, d)] * x.k[kIndex(s, g, d)];
      scores[s] = p.shape.scale * dot;
      max = std::max(max, scores[s]);
    }
    double sum = 0;
    for (int64_t s = 0; s < p.positions; ++s)
      if (visible(t, s))
        sum += probs[s] = std::exp(scores[s] - max);
    for (double &prob : probs)
      prob /= sum;
    return probs;
  }

  std::vector<double> forward(const Tensors &x) const {
    std::vector<double> out(x.q.size(), 0.0);
    for (int64_t t = 0; t < p.tokens; ++t)
      for (int64_t h = 0; h < p.shape.heads; ++h) {
        std::vector<double> probs = probabilities(x, t, h);
        for (int64_t d = 0; d < p.shape.headDim; ++d)
          for (int64_t s = 0; s < p.positions; ++s)
            out[qIndex(t, h, d)] += probs[s] * x.v[vIndex(h / group(), d, s)];
      }
    return out;
  }

  /// dL/dq, dL/dk, dL/dv for L = sum(dO * forward(x)).
  Tensors gradient(const Tensors &x, const std::vector<double> &dO) const {
    Tensors grad{std::vector<double>(x.q.size(), 0.0),
                 std::vector<double>(x.k.size(), 0.0),
                 std::vector<double>(x.v.size(), 0.0)};
    for (int64_t t = 0; t < p.tokens; ++t)
      for (int64_t h = 0; h < p.shape.heads; ++h) {
        int64_t g = h / group();
        std::vector<double> probs = probabilities(x, t, h);
        std::vector<double> dP(p.positions, 0.0);
        double rowDot = 0;
        for (int64_t s = 0; s < p.positions; ++s) {
          for (int64_t d = 0; d < p.shape.headDim; ++d) {
            dP[s] += dO[qIndex(t, h, d)] * x.v[vIndex(g, d, s)];
            grad.v[vIndex(g, d, s)] += probs[s] * dO[qIndex(t, h, d)];
          }
          rowDot += probs[s] * dP[s];
        }
        for (int64_t s = 0; s < p.positions; ++s) {
          double dScore = probs[s] * (dP[s] - rowDot) * p.shape.scale;
          for (int64_t d = 0; d < p.shape.headDim; ++d) {
            grad.q[qIndex(t, h, d)] += dScore * x.k[kIndex(s, g, d)];
            grad.k[kIndex(s, g, d)] += dScore * x.q[qIndex(t, h, d)];
          }
        }
      }
    return grad;
  }

  /// The largest scaled score of a visible pair.
  double maxScore(const Tensors &x) const {
    double max = -INFINITY;
    for (int64_t t = 0; t < p.tokens; ++t)
      for (int64_t h = 0; h < p.shape.heads; ++h)
        for (int64_t s = 0; s < p.positions && visible(t, s); ++s) {
          double dot = 0;
          for (int64_t d = 0; d < p.shape.headDim; ++d)
            dot += x.q[qIndex(t, h, d)] * x.k[kIndex(s, h / group(), d)];
          max = std::max(max, p.shape.scale * dot);
        }
    return max;
  }

  double loss(const Tensors &x, const std::vector<double> &dO) const {
    std::vector<double> out = forward(x);
    double sum = 0;
    for (size_t i = 0; i < out.size(); ++i)
      sum += dO[i] * out[i];
    return sum;
  }
};

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

std::vector<double> randomValues(size_t count, std::mt19937 &rng,
                                 double magnify = 1.0) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> values(count);
  for (double &value : values)
    // Representable in f32, so both sides see the same inputs.
    value = static_cast<float>(uniform(rng) * magnify);
  return values;
}

Buffer3d toBuffer(const std::vector<double> &values, int64_t d0, int64_t d1,
                  int64_t d2) {
  Buffer3d buffer(d0, d1, d2);
  for (size_t i = 0; i < values.size(); ++i)
    buffer.data[i] = static_cast<float>(values[i]);
  return buffer;
}

double maxAbs(const std::vector<double> &values) {
  double max = 0;
  for (double value : values)
    max = std::max(max, std::fabs(value));
  return max;
}

/// Every element of `got` within `tolerance * max(1, max|want|)` of `want`.
void expectClose(const std::vector<float> &got, const std::vector<double> &want,
                 double tolerance, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double bound = tolerance * std::max(1.0, maxAbs(want));
  double worst = 0;
  size_t worstAt = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << "[" << i << "] = " << got[i];
    double error = std::fabs(got[i] - want[i]);
    if (error > worst)
      worst = error, worstAt = i;
  }
  EXPECT_LE(worst, bound) << what << ": worst at flat index " << worstAt
                          << ", got " << got[worstAt] << ", want "
                          << want[worstAt];
}

/// One compiled module per static head shape, shared by the problems and
/// released after the last one: an ExecutionEngine must not outlive main,
/// since its destructor runs LLVM code whose static data is gone by then.
class AttentionGrad : public ::testing::TestWithParam<Problem> {
protected:
  /// The module for `shape`, or null (with a failure recorded).
  static JitModule *compiledFor(const Heads &shape, bool avx512Kernels,
                                int64_t queryBlock) {
    auto key = std::make_tuple(shape.heads, shape.kvHeads, shape.headDim,
                               shape.scale, avx512Kernels, queryBlock);
    std::unique_ptr<JitModule> &module = modules[key];
    if (!module) {
      std::string error;
      if (avx512Kernels || queryBlock > 0) {
        matc::cpu::KernelConfig config = matc::cpu::chooseKernelConfig(
            matc::cpu::CpuTarget::host());
        if (avx512Kernels) {
          config.vectorLanes = 16;
          config.matmulRows = config.matmulColumns = 4;
          config.packedRows = 6;
          config.packedVectors = 4;
        }
        if (queryBlock > 0)
          config.attentionQueryBlock = queryBlock;
        module = JitModule::compile(moduleText(shape), error, config);
      } else {
        module = JitModule::compile(moduleText(shape), error);
      }
      if (!module)
        ADD_FAILURE() << "compiling the attention module failed:\n" << error;
    }
    return module.get();
  }
  static void TearDownTestSuite() { modules.clear(); }

private:
  static inline std::map<
      std::tuple<int64_t, int64_t, int64_t, double, bool, int64_t>,
      std::unique_ptr<JitModule>>
      modules;
};

TEST_P(AttentionGrad, MatchesReferenceAndFiniteDifferences) {
  const Problem &p = GetParam();
  const Heads &shape = p.shape;
  ASSERT_EQ(shape.heads % shape.kvHeads, 0);
  JitModule *compiled = compiledFor(shape, p.avx512Kernels, p.queryBlock);
  ASSERT_NE(compiled, nullptr);
  JitModule &module = *compiled;

  std::mt19937 rng(1234 + p.tokens * 31 + p.positions * 7 + p.start);
  Tensors x{
      randomValues(p.tokens * shape.heads * shape.headDim, rng, p.magnify),
      randomValues(p.positions * shape.kvHeads * shape.headDim, rng),
      randomValues(shape.kvHeads * shape.headDim * p.positions, rng)};
  std::vector<double> dO =
      randomValues(p.tokens * shape.heads * shape.headDim, rng);
  Reference reference{p};
  bool largeScores = p.magnify > 1.0;
  double tolerance = largeScores ? 1e-4 : 1e-5;
  if (largeScores) {
    ASSERT_GT(reference.maxScore(x), 88.0) << "exp(score) must overflow f32";
  }

  // 1. The reference gradient is the derivative of the reference forward.
  Tensors want = reference.gradient(x, dO);
  const double step = 1e-5, fdTolerance = 1e-7;
  auto checkFiniteDifferences = [&](std::vector<double> &input,
                                    const std::vector<double> &grad,
                                    const char *what) {
    for (size_t i = 0; i < input.size(); ++i) {
      double saved = input[i];
      input[i] = saved + step;
      double up = reference.loss(x, dO);
      input[i] = saved - step;
      double down = reference.loss(x, dO);
      input[i] = saved;
      double numeric = (up - down) / (2 * step);
      ASSERT_NEAR(grad[i], numeric,
                  fdTolerance * std::max(1.0, std::fabs(numeric)))
          << "reference d" << what << "[" << i
          << "] against finite differences";
    }
  };
  if (!largeScores) {
    checkFiniteDifferences(x.q, want.q, "q");
    checkFiniteDifferences(x.k, want.k, "k");
    checkFiniteDifferences(x.v, want.v, "v");
  }

  Buffer3d q = toBuffer(x.q, p.tokens, shape.heads, shape.headDim);
  Buffer3d k = toBuffer(x.k, p.positions, shape.kvHeads, shape.headDim);
  Buffer3d v = toBuffer(x.v, shape.kvHeads, shape.headDim, p.positions);
  Buffer3d dOut = toBuffer(dO, p.tokens, shape.heads, shape.headDim);

  // 2. The compiled forward computes what the reference forward does.
  auto forward =
      reinterpret_cast<void (*)(Memref *, Memref *, Memref *, int64_t,
                                Memref *)>(module.lookup("attention"));
  ASSERT_NE(forward, nullptr);
  Buffer3d out(p.tokens, shape.heads, shape.headDim);
  forward(q.descriptor(), k.descriptor(), v.descriptor(), p.start,
          out.descriptor());
  expectClose(out.data, reference.forward(x), tolerance, "forward");

  // 3. The compiled gradient matches the reference gradient.
  Buffer3d dq(p.tokens, shape.heads, shape.headDim);
  Buffer3d dk(p.positions, shape.kvHeads, shape.headDim);
  Buffer3d dv(shape.kvHeads, shape.headDim, p.positions);
  if (p.withStart) {
    auto grad =
        reinterpret_cast<void (*)(Memref *, Memref *, Memref *, Memref *,
                                  int64_t, Memref *, Memref *, Memref *)>(
            module.lookup("attention_grad"));
    ASSERT_NE(grad, nullptr);
    grad(q.descriptor(), k.descriptor(), v.descriptor(), dOut.descriptor(),
         p.start, dq.descriptor(), dk.descriptor(), dv.descriptor());
  } else {
    ASSERT_EQ(p.start, 0) << "the form without a start position starts at 0";
    auto grad = reinterpret_cast<void (*)(
        Memref *, Memref *, Memref *, Memref *, Memref *, Memref *, Memref *)>(
        module.lookup("attention_grad_from_zero"));
    ASSERT_NE(grad, nullptr);
    grad(q.descriptor(), k.descriptor(), v.descriptor(), dOut.descriptor(),
         dq.descriptor(), dk.descriptor(), dv.descriptor());
  }
  expectClose(dq.data, want.q, tolerance, "query_grad");
  expectClose(dk.data, want.k, tolerance, "keys_grad");
  expectClose(dv.data, want.v, tolerance, "values_grad");

  // Positions no query sees get exactly zero gradient.
  for (int64_t s = p.start + p.tokens; s < p.positions; ++s)
    for (int64_t g = 0; g < shape.kvHeads; ++g)
      for (int64_t d = 0; d < shape.headDim; ++d) {
        EXPECT_EQ(dk.at(s, g, d), 0.0f) << "keys_grad at unseen position " << s;
        EXPECT_EQ(dv.at(g, d, s), 0.0f)
            << "values_grad at unseen position " << s;
      }
}

// Grouped-query attention, 4 query heads over 2 KV heads, head_dim 8; and
// multi-query with an odd group, 3 heads over 1, head_dim 4. The scales are
// not powers of two, so a scale applied twice or missed shows.
constexpr Heads kGqa{4, 2, 8, 0.3535533905932738};
constexpr Heads kMqa{3, 1, 4, 0.37};
// head_dim 40 and 13 rows reach the outer-product kernel of the backward's
// batched contractions (dQ = dS K, dK = dS^T Q, dV = P^T dO, dP = dO V^T):
// two blocks of 6 rows and a single one; two panels of 16 columns and 8
// leftover columns with AVX2's kernel shapes; head_dim 80 makes one panel
// of 64 and 16 leftover columns with AVX-512's.
constexpr Heads kWide{4, 2, 40, 0.15811388300841897};
constexpr Heads kWider{4, 2, 80, 0.11180339887498948};

const Problem kProblems[] = {
    {"SingleToken", kGqa, 1, 1, 0},
    {"Prefill", kGqa, 5, 5, 0},
    {"Decode", kGqa, 1, 7, 6},
    {"ChunkAfterPrefix", kGqa, 3, 7, 4},
    {"UnseenPositions", kGqa, 2, 6, 1},
    {"PrefillWithoutStart", kGqa, 4, 4, 0, 1.0, /*withStart=*/false},
    {"LargeScores", kGqa, 4, 6, 2, /*magnify=*/300.0},
    {"MultiQueryPrefill", kMqa, 4, 4, 0},
    {"MultiQueryChunk", kMqa, 2, 5, 3},
    {"WidePrefill", kWide, 13, 13, 0},
    {"WideChunkAfterPrefix", kWide, 7, 16, 9},
    {"WiderPrefillAvx512Kernels", kWider, 13, 13, 0, 1.0, true, true},
    // The forward's query rows in blocks of 4 (4, 4, 4, 1 rows) and of 3
    // after a prefix of 9 cached positions (blocks see up to 12, 15, 16).
    {"PrefillInQueryBlocks", kGqa, 13, 13, 0, 1.0, true, false, 4},
    {"ChunkInQueryBlocks", kGqa, 7, 16, 9, 1.0, true, false, 3},
};

INSTANTIATE_TEST_SUITE_P(CausalAttention, AttentionGrad,
                         ::testing::ValuesIn(kProblems),
                         [](const ::testing::TestParamInfo<Problem> &info) {
                           return std::string(info.param.name);
                         });

} // namespace

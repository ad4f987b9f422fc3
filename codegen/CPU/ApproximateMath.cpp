//===- ApproximateMath.cpp - transcendental functions as polynomials -------===//
//
// Lowered as they are, math.exp and math.tanh become scalar libm calls, which
// also keep LLVM from vectorizing the loops around them (SiLU over every FFN
// neuron, softmax over every attention score). As polynomials they are
// FMAs that vectorize, at a few ulp of error.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace matc::cpu {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

struct ApproximateMathPass
    : matc::cpu::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // Every approximation MLIR has (exp, expm1, tanh, erf, log, sin, ...);
    // rsqrt stays exact (its approximation needs AVX2 intrinsics and would
    // change RMSNorm by more than an ulp).
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

//===- AccumulateIntoContractions.cpp - X + A.B as one contraction --------===//
//
// A contraction that starts from zeros and whose only use is an elementwise
// add (R + A.B: the residual adds after the attention output projection and
// the FFN's down projection; in the backward, dX = dY1 W1 + dY2 W2 and a
// gradient summed into its slot) becomes one contraction that starts from
// R instead. The zero fill and the add's pass over both tensors go; the
// contraction's kernel already loads its output block before it
// accumulates (linalg's outs semantics), so every back end computes R + A.B
// with no change. Rounding differs only in where R is added: first instead
// of last.
//
//===----------------------------------------------------------------------===//
#include "matc/Passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace matc {
#define GEN_PASS_DEF_ACCUMULATEINTOCONTRACTIONS
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;

namespace {

/// An elementwise add of two tensors of one type: all loops parallel,
/// identity maps, body `yield (in0 + in1)`.
bool isElementwiseAdd(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }) ||
      op.getDpsInputs()[0].getType() != op.getDpsInputs()[1].getType() ||
      op.getDpsInputs()[0].getType() != op->getResult(0).getType())
    return false;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || &body.front() != add.getOperation())
    return false;
  Value in0 = body.getArgument(0), in1 = body.getArgument(1);
  return (add.getLhs() == in0 && add.getRhs() == in1) ||
         (add.getLhs() == in1 && add.getRhs() == in0);
}

/// The contraction that defines `value` if it reduces, writes only
/// `value`, starts from a fill with zero, and `value` has no other use.
linalg::LinalgOp zeroStartedContraction(Value value) {
  auto op = value.getDefiningOp<linalg::LinalgOp>();
  if (!op || !value.hasOneUse() || op->getNumResults() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
    return {};
  auto fill = op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return {};
  return op;
}

struct AccumulateAddIntoContraction
    : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp add,
                                PatternRewriter &rewriter) const override {
    if (!isElementwiseAdd(add))
      return rewriter.notifyMatchFailure(add, "not an elementwise add");
    // The second operand first: R + A.B, as the residual adds are written.
    for (unsigned i : {1u, 0u}) {
      linalg::LinalgOp contraction =
          zeroStartedContraction(add.getDpsInputs()[i]);
      if (!contraction)
        continue;
      Value start = add.getDpsInputs()[1 - i];
      // The new contraction sits where the add was: its inputs and `start`
      // are all defined before that.
      rewriter.setInsertionPoint(add);
      Operation *fused = rewriter.clone(*contraction.getOperation());
      rewriter.modifyOpInPlace(fused, [&] {
        cast<linalg::LinalgOp>(fused).getDpsInitsMutable()[0].set(start);
      });
      rewriter.replaceOp(add, fused->getResults());
      rewriter.eraseOp(contraction);
      return success();
    }
    return rewriter.notifyMatchFailure(
        add, "neither operand is a zero-started contraction used only here");
  }
};

struct AccumulateIntoContractionsPass
    : matc::impl::AccumulateIntoContractionsBase<
          AccumulateIntoContractionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AccumulateAddIntoContraction>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

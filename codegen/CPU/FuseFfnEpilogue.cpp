//===- FuseFfnEpilogue.cpp - gate and up in one pass with act(g) * u ------===//
//
// The FFN's `act(x W_gate^T) * (x W_up^T)` is two projections and an
// elementwise op. Unfused, each projection writes a [T, m] matrix (8 MiB per
// layer for a 512-token prefill of width 4096) that the elementwise op reads
// back from memory. Here the elementwise op is tiled along its columns into
// an `scf.forall`, and both projections (with their zero fills) are fused
// into each tile: per strip of `columns` neurons, both projections run over
// every row into strips that stay in L2, the activation-times-up epilogue
// reads them there, and only its result reaches memory. `columns` is the
// packed kernel's panel width, so every strip is whole panels.
//
// Matched on tensors, before bufferization: a 2-D all-parallel linalg op
// with identity maps whose two inputs are projections ([M, K] x [N, K]
// -> [M, N], reduction over k innermost in both) from zero fills, used only
// by it. Widths may be dynamic (elastic): the last strip is partial, and
// the weights' nested prefixes stay views.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"
#include "matc/Passes/BackendCommon.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace matc::cpu {
#define GEN_PASS_DEF_FUSEFFNEPILOGUE
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

/// A zero fill.
bool isZeroFill(Value value) {
  auto fill = value.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  auto constant = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
  auto attr = constant ? dyn_cast<FloatAttr>(constant.getValue()) : nullptr;
  return attr && attr.getValue().isZero();
}

/// A projection C[m, n] = sum_k A[m, k] * W[n, k] on tensors, started from
/// a zero fill, whose result is used only by `user`.
bool isFusableProjection(Value value, Operation *user) {
  auto op = value.getDefiningOp<linalg::LinalgOp>();
  return op && value.hasOneUse() && *value.getUsers().begin() == user &&
         op.hasPureTensorSemantics() && matc::isProjection(op) &&
         isZeroFill(op.getDpsInits()[0]);
}

/// The elementwise op of two fusable projections (the FFN's epilogue).
bool isFfnEpilogue(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 2 || op.getNumParallelLoops() != 2 ||
      !op.hasPureTensorSemantics() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  Value gate = op.getDpsInputs()[0], up = op.getDpsInputs()[1];
  return gate != up && isFusableProjection(gate, op) &&
         isFusableProjection(up, op);
}

struct FuseFfnEpiloguePass
    : matc::cpu::impl::FuseFfnEpilogueBase<FuseFfnEpiloguePass> {
  using Base::Base;

  void runOnOperation() override {
    if (columns < 1) {
      getOperation()->emitError()
          << "matc-cpu-fuse-ffn-epilogue: columns must be positive, got "
          << static_cast<int64_t>(columns);
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> epilogues;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (isFfnEpilogue(op))
        epilogues.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : epilogues) {
      // Fuse the two projections and their fills, nothing further up (the
      // norm that makes their input runs once, before the loop).
      llvm::SmallPtrSet<Operation *, 4> fusable;
      for (Value input : op.getDpsInputs()) {
        auto projection = input.getDefiningOp<linalg::LinalgOp>();
        fusable.insert(projection);
        fusable.insert(projection.getDpsInits()[0].getDefiningOp());
      }
      scf::SCFTilingOptions tiling;
      tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      tiling.setTileSizes(
          {rewriter.getIndexAttr(0), rewriter.getIndexAttr(columns)});
      scf::SCFTileAndFuseOptions options;
      options.setTilingOptions(tiling);
      options.setFusionControlFn(
          [&](tensor::ExtractSliceOp, OpResult producer, bool)
              -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            if (!fusable.contains(producer.getOwner()))
              return std::nullopt;
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          });
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTileAndFuseResult> result =
          scf::tileConsumerAndFuseProducersUsingSCF(
              rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(result)) {
        op.emitError() << "matc-cpu-fuse-ffn-epilogue: could not tile the "
                          "FFN epilogue with its projections";
        return signalPassFailure();
      }
      rewriter.replaceOp(op, result->replacements.lookup(op->getResult(0)));
    }
    // The whole-width projections are left with uses that the driver
    // erases as dead (the candidate slices) or resolves: the loop's bounds
    // ask a projection's result for its row count, which is its fill's.
    // A strip's fill starts from a slice of the epilogue's empty result;
    // it becomes an empty strip of its own, so bufferization gives it a
    // buffer of the strip's size instead of a view into the result.
    RewritePatternSet patterns(&getContext());
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    tensor::populateFoldTensorEmptyPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

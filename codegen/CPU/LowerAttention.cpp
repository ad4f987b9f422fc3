//===- LowerAttention.cpp - matformer.causal_attention -> linalg ----------===//
//
// The CPU's form of the attention core, on tensors before bufferization:
// scores against every key position, causal mask, softmax, weighted sum of
// V. Query heads are grouped as [kv_heads, group] so that every indexing map
// stays a projected permutation (no floordiv).
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace matc::cpu {
#define GEN_PASS_DEF_LOWERATTENTION
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;
using matc::dimSize;
using matc::filledTensor;
using matc::indexingMaps;
using matc::multiplyAccumulate;
using matc::matformer::CausalAttentionOp;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// `s <= start + t`: key position s is visible from query row t.
Value isVisible(OpBuilder &b, Location loc, Value start, unsigned tDim,
                unsigned sDim) {
  Value t = linalg::IndexOp::create(b, loc, tDim);
  Value s = linalg::IndexOp::create(b, loc, sDim);
  Value last = arith::AddIOp::create(b, loc, start, t);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, s, last);
}

/// The [T, heads, headDim] result of `op` at the builder's insertion point.
Value lowerCausalAttention(OpBuilder &b, CausalAttentionOp op) {
  Location loc = op.getLoc();
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim(), group = heads / kvHeads;
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  Value q = op.getQuery(), keys = op.getKeys(), values = op.getValues();
  OpFoldResult tokens = dimSize(b, loc, q, 0);
  OpFoldResult keyCount = dimSize(b, loc, keys, 0);
  Value start = op.getStartPos();
  if (!start)
    start = arith::ConstantIndexOp::create(b, loc, 0);

  // q as [T, kvHeads, group, headDim]: query head kh*group+g uses KV head kh.
  auto groupedType = RankedTensorType::get(
      {op.getType().getDimSize(0), kvHeads, group, headDim}, f32);
  Value grouped = tensor::ExpandShapeOp::create(
      b, loc, groupedType, q, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}},
      ArrayRef<OpFoldResult>{tokens, b.getIndexAttr(kvHeads),
                             b.getIndexAttr(group), b.getIndexAttr(headDim)});

  AffineExpr d0, d1, d2, d3, d4;
  bindDims(context, d0, d1, d2, d3, d4);
  auto mapsOf = [&](ArrayRef<ArrayRef<AffineExpr>> exprs) {
    return indexingMaps(context, exprs);
  };

  // scores[kh, g, t, s] = q[t, kh, g, :] . keys[s, kh, :]
  SmallVector<OpFoldResult> scoreSizes = {b.getIndexAttr(kvHeads),
                                          b.getIndexAttr(group), tokens, keyCount};
  Value scoresInit = filledTensor(b, loc, scoreSizes, f32, 0.0);
  Value scores = multiplyAccumulate(
      b, loc, {grouped, keys}, scoresInit,
      mapsOf({{d2, d0, d1, d4}, {d3, d0, d4}, {d0, d1, d2, d3}}),
      {kPar, kPar, kPar, kPar, kRed});

  // Causal softmax over s of scale * scores: row max, exp and sum, normalize.
  SmallVector<OpFoldResult> rowSizes = {b.getIndexAttr(kvHeads),
                                        b.getIndexAttr(group), tokens};
  auto rowMaps = mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}});
  auto elementMaps = mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}, {d0, d1, d2, d3}});
  Value scaleValue = arith::ConstantOp::create(
      b, loc, f32, b.getF32FloatAttr(op.getScale().convertToDouble()));
  Value rowMaxInit = filledTensor(b, loc, rowSizes, f32,
                                  -std::numeric_limits<double>::infinity());
  Value rowMax =
      linalg::GenericOp::create(
          b, loc, rowMaxInit.getType(), ValueRange{scores}, ValueRange{rowMaxInit},
          rowMaps, {kPar, kPar, kPar, kRed},
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value scaled = arith::MulFOp::create(nb, nl, args[0], scaleValue);
            Value larger = arith::MaximumFOp::create(nb, nl, args[1], scaled);
            Value visible = isVisible(nb, nl, start, 2, 3);
            linalg::YieldOp::create(
                nb, nl,
                arith::SelectOp::create(nb, nl, visible, larger, args[1]).getResult());
          })
          .getResult(0);
  Value expInit = tensor::EmptyOp::create(b, loc, scoreSizes, f32);
  Value exps =
      linalg::GenericOp::create(
          b, loc, expInit.getType(), ValueRange{scores, rowMax}, ValueRange{expInit},
          elementMaps, {kPar, kPar, kPar, kPar},
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value scaled = arith::MulFOp::create(nb, nl, args[0], scaleValue);
            Value shifted = arith::SubFOp::create(nb, nl, scaled, args[1]);
            Value e = math::ExpOp::create(nb, nl, shifted);
            Value zero = arith::ConstantOp::create(nb, nl, f32, nb.getF32FloatAttr(0));
            Value visible = isVisible(nb, nl, start, 2, 3);
            linalg::YieldOp::create(
                nb, nl, arith::SelectOp::create(nb, nl, visible, e, zero).getResult());
          })
          .getResult(0);
  Value rowSumInit = filledTensor(b, loc, rowSizes, f32, 0.0);
  Value rowSum =
      linalg::GenericOp::create(
          b, loc, rowSumInit.getType(), ValueRange{exps}, ValueRange{rowSumInit},
          rowMaps, {kPar, kPar, kPar, kRed},
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            linalg::YieldOp::create(
                nb, nl, arith::AddFOp::create(nb, nl, args[1], args[0]).getResult());
          })
          .getResult(0);
  Value probs =
      linalg::GenericOp::create(
          b, loc, expInit.getType(), ValueRange{exps, rowSum}, ValueRange{expInit},
          elementMaps, {kPar, kPar, kPar, kPar},
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            linalg::YieldOp::create(
                nb, nl, arith::DivFOp::create(nb, nl, args[0], args[1]).getResult());
          })
          .getResult(0);

  // out[t, kh, g, d] = sum_s probs[kh, g, t, s] * values[kh, d, s]
  Value outInit = filledTensor(
      b, loc,
      {tokens, b.getIndexAttr(kvHeads), b.getIndexAttr(group), b.getIndexAttr(headDim)},
      f32, 0.0);
  Value attended = multiplyAccumulate(
      b, loc, {probs, values}, outInit,
      mapsOf({{d1, d2, d0, d4}, {d1, d3, d4}, {d0, d1, d2, d3}}),
      {kPar, kPar, kPar, kPar, kRed});
  return tensor::CollapseShapeOp::create(
      b, loc, op.getType(), attended,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
}

struct LowerAttentionPass
    : matc::cpu::impl::LowerAttentionBase<LowerAttentionPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation()->walk([&](CausalAttentionOp op) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOp(op, lowerCausalAttention(rewriter, op));
    });
  }
};

} // namespace

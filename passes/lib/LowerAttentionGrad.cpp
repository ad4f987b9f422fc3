//===- LowerAttentionGrad.cpp - causal_attention_grad -> linalg
//------------===//
//
// The backward of the attention core as linalg on tensors, shared by every
// back end. The probabilities are recomputed from query and keys
// (max-subtracted softmax), and, unlike the forward's flash-style CPU form,
// the whole [kv_heads, group, T, S] block of scores is materialized: a
// training step holds T x S per head anyway, and the four contractions of
// the backward (dV, dP, dQ, dK) each read it whole. Query heads are grouped
// as [kv_heads, group] (q and dO expanded to [T, kv_heads, group, d]) so
// that every indexing map is a projected permutation.
//
//===----------------------------------------------------------------------===//
#include "LowerAttentionGrad.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using matc::dimSize;
using matc::filledTensor;
using matc::multiplyAccumulate;
using matc::matformer::CausalAttentionGradOp;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// [T, heads, d] as [T, kv_heads, group, d].
Value groupHeads(OpBuilder &b, Location loc, Value x, int64_t kvHeads,
                 int64_t group) {
  auto type = cast<RankedTensorType>(x.getType());
  auto groupedType = RankedTensorType::get(
      {type.getDimSize(0), kvHeads, group, type.getDimSize(2)},
      type.getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, groupedType, x, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}},
      ArrayRef<OpFoldResult>{dimSize(b, loc, x, 0), b.getIndexAttr(kvHeads),
                             b.getIndexAttr(group),
                             b.getIndexAttr(type.getDimSize(2))});
}

/// `s <= start + t` for dimensions tDim and sDim of the enclosing linalg op.
Value isVisible(OpBuilder &b, Location loc, Value start, unsigned tDim,
                unsigned sDim) {
  Value t = linalg::IndexOp::create(b, loc, tDim);
  Value s = linalg::IndexOp::create(b, loc, sDim);
  Value last = arith::AddIOp::create(b, loc, start, t);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, s, last);
}

/// A linalg.generic with one result of `init`'s type.
Value generic(OpBuilder &b, Location loc, ValueRange inputs, Value init,
              ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iterators,
              function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  return linalg::GenericOp::create(b, loc, init.getType(), inputs,
                                   ValueRange{init}, maps, iterators, body)
      .getResult(0);
}

} // namespace

SmallVector<Value, 3>
matc::lowerCausalAttentionGrad(OpBuilder &b, CausalAttentionGradOp op,
                               CausalAttentionGradOp::Adaptor operands) {
  Location loc = op.getLoc();
  MLIRContext *context = b.getContext();
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim(), group = heads / kvHeads;
  Type f32 = b.getF32Type();
  Value keys = operands.getKeys(), values = operands.getValues();
  Value q = groupHeads(b, loc, operands.getQuery(), kvHeads, group);
  Value dO = groupHeads(b, loc, operands.getResultGrad(), kvHeads, group);
  Value start = operands.getStartPos();
  if (!start)
    start = arith::ConstantIndexOp::create(b, loc, 0);
  OpFoldResult tokens = dimSize(b, loc, q, 0),
               positions = dimSize(b, loc, keys, 0);
  OpFoldResult kvHeadsSize = b.getIndexAttr(kvHeads),
               groupSize = b.getIndexAttr(group),
               headDimSize = b.getIndexAttr(headDim);
  Value scale = arith::ConstantOp::create(
      b, loc, f32, b.getF32FloatAttr(op.getScale().convertToDouble()));

  AffineExpr d0, d1, d2, d3, d4;
  bindDims(context, d0, d1, d2, d3, d4);
  auto mapsOf = [&](ArrayRef<ArrayRef<AffineExpr>> exprs) {
    return matc::indexingMaps(context, exprs);
  };
  // Scores and probabilities are [kh, g, t, s]; row statistics [kh, g, t].
  SmallVector<OpFoldResult> scoreSizes = {kvHeadsSize, groupSize, tokens,
                                          positions};
  SmallVector<OpFoldResult> rowSizes = {kvHeadsSize, groupSize, tokens};
  auto rowMaps = mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}});
  auto scoreAndRowMaps =
      mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}, {d0, d1, d2, d3}});
  SmallVector<IteratorType> rowReduction = {kPar, kPar, kPar, kRed};
  SmallVector<IteratorType> elementwise = {kPar, kPar, kPar, kPar};

  // scores[kh, g, t, s] = q[t, kh, g, :] . keys[s, kh, :]
  Value scores = multiplyAccumulate(
      b, loc, {q, keys}, filledTensor(b, loc, scoreSizes, f32, 0.0),
      mapsOf({{d2, d0, d1, d4}, {d3, d0, d4}, {d0, d1, d2, d3}}),
      {kPar, kPar, kPar, kPar, kRed});

  // The row max of scale * scores over visible positions; position 0 is
  // always visible, so it is finite.
  Value rowMax = generic(
      b, loc, {scores},
      filledTensor(b, loc, rowSizes, f32,
                   -std::numeric_limits<double>::infinity()),
      rowMaps, rowReduction, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value scaled = arith::MulFOp::create(nb, nl, args[0], scale);
        Value larger = arith::MaximumFOp::create(nb, nl, args[1], scaled);
        Value visible = isVisible(nb, nl, start, 2, 3);
        linalg::YieldOp::create(
            nb, nl,
            arith::SelectOp::create(nb, nl, visible, larger, args[1])
                .getResult());
      });

  // e = exp(scale * score - max) where visible, 0 where masked, in place of
  // the scores; then the row sums and P = e / sum.
  Value zeroF = arith::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(0));
  Value exps = generic(
      b, loc, {scores, rowMax}, scores, scoreAndRowMaps, elementwise,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value scaled = arith::MulFOp::create(nb, nl, args[0], scale);
        Value shifted = arith::SubFOp::create(nb, nl, scaled, args[1]);
        Value e = math::ExpOp::create(nb, nl, shifted);
        Value visible = isVisible(nb, nl, start, 2, 3);
        linalg::YieldOp::create(
            nb, nl,
            arith::SelectOp::create(nb, nl, visible, e, zeroF).getResult());
      });
  Value rowSum = generic(
      b, loc, {exps}, filledTensor(b, loc, rowSizes, f32, 0.0), rowMaps,
      rowReduction, [](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(
            nb, nl,
            arith::AddFOp::create(nb, nl, args[1], args[0]).getResult());
      });
  Value probs = generic(
      b, loc, {exps, rowSum}, exps, scoreAndRowMaps, elementwise,
      [](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(
            nb, nl,
            arith::DivFOp::create(nb, nl, args[0], args[1]).getResult());
      });

  // dV[kh, d, s] = sum over g, t of P[kh, g, t, s] * dO[t, kh, g, d]
  // (dimensions kh, d, s, g, t).
  Value valuesGrad = multiplyAccumulate(
      b, loc, {probs, dO},
      filledTensor(b, loc, {kvHeadsSize, headDimSize, positions}, f32, 0.0),
      mapsOf({{d0, d3, d4, d2}, {d4, d0, d3, d1}, {d0, d1, d2}}),
      {kPar, kPar, kPar, kRed, kRed});

  // dP[kh, g, t, s] = sum_d dO[t, kh, g, d] * values[kh, d, s]
  Value probsGrad = multiplyAccumulate(
      b, loc, {dO, values}, filledTensor(b, loc, scoreSizes, f32, 0.0),
      mapsOf({{d2, d0, d1, d4}, {d0, d4, d3}, {d0, d1, d2, d3}}),
      {kPar, kPar, kPar, kPar, kRed});

  // rowDot[kh, g, t] = sum_s P * dP; then scale * dS = scale * P (dP - rowDot),
  // in place of dP. The scale is folded in here once for dQ and dK.
  Value rowDot = generic(
      b, loc, {probs, probsGrad}, filledTensor(b, loc, rowSizes, f32, 0.0),
      mapsOf({{d0, d1, d2, d3}, {d0, d1, d2, d3}, {d0, d1, d2}}), rowReduction,
      [](OpBuilder &nb, Location nl, ValueRange args) {
        Value product = arith::MulFOp::create(nb, nl, args[0], args[1]);
        linalg::YieldOp::create(
            nb, nl,
            arith::AddFOp::create(nb, nl, args[2], product).getResult());
      });
  Value scoresGrad = generic(
      b, loc, {probs, probsGrad, rowDot}, probsGrad,
      mapsOf(
          {{d0, d1, d2, d3}, {d0, d1, d2, d3}, {d0, d1, d2}, {d0, d1, d2, d3}}),
      elementwise, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value centered = arith::SubFOp::create(nb, nl, args[1], args[2]);
        Value weighted = arith::MulFOp::create(nb, nl, args[0], centered);
        linalg::YieldOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, weighted, scale).getResult());
      });

  // dQ[t, kh, g, d] = sum_s dS[kh, g, t, s] * keys[s, kh, d]
  // (dimensions t, kh, g, d, s), then back to [T, heads, d].
  Value groupedQueryGrad = multiplyAccumulate(
      b, loc, {scoresGrad, keys},
      filledTensor(b, loc, {tokens, kvHeadsSize, groupSize, headDimSize}, f32,
                   0.0),
      mapsOf({{d1, d2, d0, d4}, {d4, d1, d3}, {d0, d1, d2, d3}}),
      {kPar, kPar, kPar, kPar, kRed});
  Value queryGrad = tensor::CollapseShapeOp::create(
      b, loc, groupedQueryGrad,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});

  // dK[s, kh, d] = sum over g, t of dS[kh, g, t, s] * q[t, kh, g, d]
  // (dimensions s, kh, d, g, t).
  Value keysGrad = multiplyAccumulate(
      b, loc, {scoresGrad, q},
      filledTensor(b, loc, {positions, kvHeadsSize, headDimSize}, f32, 0.0),
      mapsOf({{d1, d3, d4, d0}, {d4, d1, d3, d2}, {d0, d1, d2}}),
      {kPar, kPar, kPar, kRed, kRed});

  return {queryGrad, keysGrad, valuesGrad};
}

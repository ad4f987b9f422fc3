//===- LowerAttention.cpp - matformer.attention -> linalg ------------------===//
//
// q, k, v projections; RoPE on q and k; K/V appended to the cache; scores
// against every cached position, causal mask, softmax; weighted sum of V;
// output projection. Query heads are grouped as [kv_heads, group] so that
// every indexing map stays a projected permutation (no floordiv).
//
//===----------------------------------------------------------------------===//
#include "LowerAttention.h"
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>
#include <limits>

using namespace mlir;
using matc::matformer::AttentionOp;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Splits the feature dimension of [T, heads*headDim] into [T, heads, headDim].
Value splitHeads(OpBuilder &b, Location loc, Value x, int64_t heads,
                 int64_t headDim) {
  auto type = RankedTensorType::get({ShapedType::kDynamic, heads, headDim},
                                    b.getF32Type());
  return tensor::ExpandShapeOp::create(
      b, loc, type, x, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
      ArrayRef<OpFoldResult>{matc::dimSize(b, loc, x, 0), b.getIndexAttr(heads),
                             b.getIndexAttr(headDim)});
}

/// Rotate-half RoPE on [T, heads, headDim]; row t sits at position start+t.
/// Angles are computed in f64 and rounded once, which keeps long positions
/// accurate.
Value applyRope(OpBuilder &b, Location loc, Value x, Value start,
                double theta) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t heads = type.getDimSize(1), headDim = type.getDimSize(2),
          half = headDim / 2;
  OpFoldResult tokens = matc::dimSize(b, loc, x, 0);
  SmallVector<OpFoldResult> halfSizes = {tokens, b.getIndexAttr(heads),
                                         b.getIndexAttr(half)};
  SmallVector<OpFoldResult> ones(3, b.getIndexAttr(1));
  auto slice = [&](int64_t offset) -> Value {
    return tensor::ExtractSliceOp::create(
        b, loc, x,
        {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(offset)},
        halfSizes, ones);
  };
  Value first = slice(0), second = slice(half);
  Value out = tensor::EmptyOp::create(b, loc, halfSizes, b.getF32Type());
  auto maps = SmallVector<AffineMap>(4, b.getMultiDimIdentityMap(3));
  double logTheta = std::log(theta);
  auto rotate = linalg::GenericOp::create(
      b, loc, TypeRange{out.getType(), out.getType()},
      ValueRange{first, second}, ValueRange{out, out}, maps,
      {kPar, kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Type f64 = nb.getF64Type();
        Value t = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 2);
        Value position = arith::AddIOp::create(nb, nl, start, t);
        auto toF64 = [&](Value index) -> Value {
          Value i64 = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), index);
          return arith::SIToFPOp::create(nb, nl, f64, i64);
        };
        // inv_freq_j = theta^(-2j/headDim)
        Value exponent = arith::MulFOp::create(
            nb, nl, toF64(j),
            arith::ConstantOp::create(nb, nl, f64,
                                      nb.getF64FloatAttr(-2.0 * logTheta / headDim)));
        Value invFreq = math::ExpOp::create(nb, nl, exponent);
        Value angle = arith::MulFOp::create(nb, nl, toF64(position), invFreq);
        Value cos = arith::TruncFOp::create(nb, nl, nb.getF32Type(),
                                            math::CosOp::create(nb, nl, angle));
        Value sin = arith::TruncFOp::create(nb, nl, nb.getF32Type(),
                                            math::SinOp::create(nb, nl, angle));
        Value a = args[0], c = args[1];
        Value outFirst = arith::SubFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, a, cos),
            arith::MulFOp::create(nb, nl, c, sin));
        Value outSecond = arith::AddFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, c, cos),
            arith::MulFOp::create(nb, nl, a, sin));
        linalg::YieldOp::create(nb, nl, ValueRange{outFirst, outSecond});
      });
  SmallVector<OpFoldResult> fullSizes = {tokens, b.getIndexAttr(heads),
                                         b.getIndexAttr(headDim)};
  Value result = tensor::EmptyOp::create(b, loc, fullSizes, b.getF32Type());
  auto insert = [&](Value part, int64_t offset, Value into) -> Value {
    return tensor::InsertSliceOp::create(
        b, loc, part, into,
        {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(offset)},
        halfSizes, ones);
  };
  result = insert(rotate.getResult(0), 0, result);
  return insert(rotate.getResult(1), half, result);
}

/// Positions [offset, offset+size) of the [positions, kvHeads, headDim] K
/// cache.
Value cacheRows(OpBuilder &b, Location loc, Value cache, OpFoldResult offset,
                OpFoldResult size) {
  auto type = cast<MemRefType>(cache.getType());
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return memref::SubViewOp::create(
      b, loc, cache, {offset, zero, zero},
      {size, b.getIndexAttr(type.getDimSize(1)), b.getIndexAttr(type.getDimSize(2))},
      {one, one, one});
}

/// Positions [offset, offset+size) of the [kvHeads, headDim, positions] V
/// cache.
Value cacheColumns(OpBuilder &b, Location loc, Value cache, OpFoldResult offset,
                   OpFoldResult size) {
  auto type = cast<MemRefType>(cache.getType());
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return memref::SubViewOp::create(
      b, loc, cache, {zero, zero, offset},
      {b.getIndexAttr(type.getDimSize(0)), b.getIndexAttr(type.getDimSize(1)), size},
      {one, one, one});
}

/// `s <= start + t`: key position s is visible from query row t.
Value isVisible(OpBuilder &b, Location loc, Value start, unsigned tDim,
                unsigned sDim) {
  Value t = linalg::IndexOp::create(b, loc, tDim);
  Value s = linalg::IndexOp::create(b, loc, sDim);
  Value last = arith::AddIOp::create(b, loc, start, t);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, s, last);
}

} // namespace

Value matc::lowerAttention(OpBuilder &b, AttentionOp op) {
  Location loc = op.getLoc();
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim(), group = heads / kvHeads;
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  Value x = op.getInput();
  OpFoldResult tokens = dimSize(b, loc, x, 0);

  Value q = splitHeads(b, loc, matmulTransposedB(b, loc, x, op.getWq()), heads,
                       headDim);
  Value k = splitHeads(b, loc, matmulTransposedB(b, loc, x, op.getWk()),
                       kvHeads, headDim);
  Value v = splitHeads(b, loc, matmulTransposedB(b, loc, x, op.getWv()),
                       kvHeads, headDim);
  Value start = op.getStartPos();
  if (!start)
    start = arith::ConstantIndexOp::create(b, loc, 0);
  q = applyRope(b, loc, q, start, op.getRopeTheta().convertToDouble());
  k = applyRope(b, loc, k, start, op.getRopeTheta().convertToDouble());

  // V as [kvHeads, headDim, T]: P x V then reduces over contiguous positions.
  Value vColumns = linalg::TransposeOp::create(
                       b, loc, v,
                       tensor::EmptyOp::create(
                           b, loc,
                           {b.getIndexAttr(kvHeads), b.getIndexAttr(headDim), tokens},
                           f32),
                       ArrayRef<int64_t>{1, 2, 0})
                       .getResult()[0];

  // Keys and values of every visible position: the cache after appending
  // this call's positions, or just this call's without a cache.
  Value keys = k, values = vColumns;
  OpFoldResult keyCount = tokens;
  if (op.hasKvCache()) {
    auto append = [&](Value part, Value destination) {
      bufferization::MaterializeInDestinationOp::create(
          b, loc, TypeRange(), part, destination, /*restrict=*/true,
          /*writable=*/true);
    };
    append(k, cacheRows(b, loc, op.getKCache(), start, tokens));
    append(vColumns, cacheColumns(b, loc, op.getVCache(), start, tokens));
    Value total = arith::AddIOp::create(
        b, loc, start, getValueOrCreateConstantIndexOp(b, loc, tokens));
    keyCount = total;
    keys = bufferization::ToTensorOp::create(
        b, loc,
        RankedTensorType::get({ShapedType::kDynamic, kvHeads, headDim}, f32),
        cacheRows(b, loc, op.getKCache(), b.getIndexAttr(0), total),
        /*restrict=*/true, /*writable=*/false);
    values = bufferization::ToTensorOp::create(
        b, loc,
        RankedTensorType::get({kvHeads, headDim, ShapedType::kDynamic}, f32),
        cacheColumns(b, loc, op.getVCache(), b.getIndexAttr(0), total),
        /*restrict=*/true, /*writable=*/false);
  }

  // q as [T, kvHeads, group, headDim]: query head kh*group+g uses KV head kh.
  auto groupedType = RankedTensorType::get(
      {ShapedType::kDynamic, kvHeads, group, headDim}, f32);
  Value grouped = tensor::ExpandShapeOp::create(
      b, loc, groupedType, q, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}},
      ArrayRef<OpFoldResult>{tokens, b.getIndexAttr(kvHeads),
                             b.getIndexAttr(group), b.getIndexAttr(headDim)});

  AffineExpr d0, d1, d2, d3, d4;
  bindDims(context, d0, d1, d2, d3, d4);
  auto mapsOf = [&](ArrayRef<ArrayRef<AffineExpr>> exprs) {
    return indexingMaps(context, exprs);
  };

  // scores[kh, g, t, s] = q[t, kh, g, :] . keys[s, kh, :] / sqrt(headDim)
  SmallVector<OpFoldResult> scoreSizes = {b.getIndexAttr(kvHeads),
                                          b.getIndexAttr(group), tokens, keyCount};
  Value scoresInit = filledTensor(b, loc, scoreSizes, f32, 0.0);
  double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
  Value scores = multiplyAccumulate(
      b, loc, {grouped, keys}, scoresInit,
      mapsOf({{d2, d0, d1, d4}, {d3, d0, d4}, {d0, d1, d2, d3}}),
      {kPar, kPar, kPar, kPar, kRed});

  // Causal softmax over s: row max, exp and sum, normalize.
  SmallVector<OpFoldResult> rowSizes = {b.getIndexAttr(kvHeads),
                                        b.getIndexAttr(group), tokens};
  auto rowMaps = mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}});
  auto elementMaps = mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}, {d0, d1, d2, d3}});
  Value scaleValue = arith::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(scale));
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
          mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}, {d0, d1, d2, d3}}),
          {kPar, kPar, kPar, kPar},
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
  auto flatType = RankedTensorType::get({ShapedType::kDynamic, heads * headDim}, f32);
  Value flat = tensor::CollapseShapeOp::create(
      b, loc, flatType, attended, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  return matmulTransposedB(b, loc, flat, op.getWo());
}

//===- LowerAttention.cpp - matformer.attention -> linalg ------------------===//
//
// q, k, v projections; RoPE on q and k; K/V appended to the cache; the core
// (causal softmax(q k^T / sqrt(d)) v against every visible position) as one
// `matformer.causal_attention`, which each back end lowers its own way (the
// CPU's: codegen/CPU/LowerAttention.cpp); output projection.
//
//===----------------------------------------------------------------------===//
#include "LowerAttention.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using matc::matformer::AttentionOp;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;

} // namespace

Value matc::splitHeads(OpBuilder &b, Location loc, Value x, int64_t heads,
                       int64_t headDim) {
  auto type = RankedTensorType::get({ShapedType::kDynamic, heads, headDim},
                                    b.getF32Type());
  return tensor::ExpandShapeOp::create(
      b, loc, type, x, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
      ArrayRef<OpFoldResult>{matc::dimSize(b, loc, x, 0), b.getIndexAttr(heads),
                             b.getIndexAttr(headDim)});
}

/// Angles are computed in f64 and rounded once, which keeps long positions
/// accurate.
Value matc::applyRope(OpBuilder &b, Location loc, Value x, Value start,
                      double theta, bool inverse) {
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

  // cos and sin of every (token, frequency) once, shared by all heads: as
  // part of the rotation they were computed heads times over.
  SmallVector<OpFoldResult> tableSizes = {tokens, b.getIndexAttr(half)};
  Value table = tensor::EmptyOp::create(b, loc, tableSizes, b.getF32Type());
  double logTheta = std::log(theta);
  auto angles = linalg::GenericOp::create(
      b, loc, TypeRange{table.getType(), table.getType()}, ValueRange{},
      ValueRange{table, table},
      SmallVector<AffineMap>(2, b.getMultiDimIdentityMap(2)), {kPar, kPar},
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Type f64 = nb.getF64Type();
        Value t = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 1);
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
        if (inverse)
          sin = arith::NegFOp::create(nb, nl, sin);
        linalg::YieldOp::create(nb, nl, ValueRange{cos, sin});
      });

  Value out = tensor::EmptyOp::create(b, loc, halfSizes, b.getF32Type());
  AffineMap identity = b.getMultiDimIdentityMap(3);
  AffineExpr t, h, j;
  bindDims(b.getContext(), t, h, j);
  AffineMap perToken = AffineMap::get(3, 0, {t, j}, b.getContext());
  auto rotate = linalg::GenericOp::create(
      b, loc, TypeRange{out.getType(), out.getType()},
      ValueRange{first, second, angles.getResult(0), angles.getResult(1)},
      ValueRange{out, out},
      SmallVector<AffineMap>{identity, identity, perToken, perToken, identity,
                             identity},
      {kPar, kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value a = args[0], c = args[1], cos = args[2], sin = args[3];
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

namespace {

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

} // namespace

Value matc::lowerAttention(OpBuilder &b, AttentionOp op,
                           AttentionOp::Adaptor operands) {
  Location loc = op.getLoc();
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim();
  Type f32 = b.getF32Type();
  Value x = operands.getInput();
  OpFoldResult tokens = dimSize(b, loc, x, 0);

  Value q = splitHeads(b, loc, matmulTransposedB(b, loc, x, operands.getWq()), heads,
                       headDim);
  Value k = splitHeads(b, loc, matmulTransposedB(b, loc, x, operands.getWk()),
                       kvHeads, headDim);
  Value v = splitHeads(b, loc, matmulTransposedB(b, loc, x, operands.getWv()),
                       kvHeads, headDim);
  bool hasCache = operands.getKCache() != nullptr;
  Value start = operands.getStartPos();
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
  if (hasCache) {
    auto append = [&](Value part, Value destination) {
      bufferization::MaterializeInDestinationOp::create(
          b, loc, TypeRange(), part, destination, /*restrict=*/true,
          /*writable=*/true);
    };
    append(k, cacheRows(b, loc, operands.getKCache(), start, tokens));
    append(vColumns, cacheColumns(b, loc, operands.getVCache(), start, tokens));
    Value total = arith::AddIOp::create(
        b, loc, start, getValueOrCreateConstantIndexOp(b, loc, tokens));
    keys = bufferization::ToTensorOp::create(
        b, loc,
        RankedTensorType::get({ShapedType::kDynamic, kvHeads, headDim}, f32),
        cacheRows(b, loc, operands.getKCache(), b.getIndexAttr(0), total),
        /*restrict=*/true, /*writable=*/false);
    values = bufferization::ToTensorOp::create(
        b, loc,
        RankedTensorType::get({kvHeads, headDim, ShapedType::kDynamic}, f32),
        cacheColumns(b, loc, operands.getVCache(), b.getIndexAttr(0), total),
        /*restrict=*/true, /*writable=*/false);
  }

  // The core stays one op; the back end chooses how to compute it.
  double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
  Value attended = matc::matformer::CausalAttentionOp::create(
      b, loc, q.getType(), q, keys, values, hasCache ? start : Value(),
      b.getF64FloatAttr(scale));
  auto flatType = RankedTensorType::get({ShapedType::kDynamic, heads * headDim}, f32);
  Value flat = tensor::CollapseShapeOp::create(
      b, loc, flatType, attended, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  return matmulTransposedB(b, loc, flat, operands.getWo());
}

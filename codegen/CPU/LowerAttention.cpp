//===- LowerAttention.cpp - matformer.causal_attention -> linalg ----------===//
//
// The CPU's form of the attention core, on tensors before bufferization: a
// loop over tiles of key positions with an online (flash-style) softmax, so
// the [heads, T, positions] score matrix never exists. Within a tile: scores
// against the tile's keys, causal mask, softmax terms against the running
// max, weighted sum of the tile's V (positions innermost, as in the cache).
// Query heads are grouped as [kv_heads, group] so that every indexing map
// stays a projected permutation (no floordiv). Query rows go in blocks; a
// block with enough rows runs in the column form (attendColumns: query rows
// innermost, outer products on the packed kernel; one KV head per iteration
// of an scf.forall; tiles before the block's first row unmasked), a
// smaller one (decode) in the row form (attendRows: dot products).
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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

/// `offset + s <= start + t`: key position offset + s is visible from query
/// row t (dimensions tDim and sDim of the enclosing linalg op).
Value isVisible(OpBuilder &b, Location loc, Value start, Value offset,
                unsigned tDim, unsigned sDim) {
  Value t = linalg::IndexOp::create(b, loc, tDim);
  Value s = linalg::IndexOp::create(b, loc, sDim);
  Value position = arith::AddIOp::create(b, loc, offset, s);
  Value last = arith::AddIOp::create(b, loc, start, t);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, position,
                               last);
}

/// One tile of key positions, [offset, offset + count) with count =
/// min(step, end - offset): its keys (of [positions, kvHeads, headDim]) and
/// values (of [kvHeads, headDim, positions]).
struct PositionTile {
  Value count, keys, values;
};

PositionTile positionTile(OpBuilder &b, Location loc, Value keys, Value values,
                          Value offset, Value end, Value step) {
  Value count = arith::MinSIOp::create(
      b, loc, step, arith::SubIOp::create(b, loc, end, offset));
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> ones(3, one);
  Value keyTile = tensor::ExtractSliceOp::create(
      b, loc, keys, {offset, zero, zero},
      {count, tensor::getMixedSize(b, loc, keys, 1),
       tensor::getMixedSize(b, loc, keys, 2)},
      ones);
  Value valueTile = tensor::ExtractSliceOp::create(
      b, loc, values, {zero, zero, offset},
      {tensor::getMixedSize(b, loc, values, 0),
       tensor::getMixedSize(b, loc, values, 1), count},
      ones);
  return {count, keyTile, valueTile};
}

/// The online softmax's step per query row, on tensors of the row statistics
/// (any rank, all the same shape): the new max, the factor exp(old - new)
/// that rescales what was summed against the old max (1 when it did not
/// move, also while both are still -inf), and the sum rescaled by it.
linalg::GenericOp updateRunningMax(OpBuilder &b, Location loc, Value oldMax,
                                   Value tileMax, Value sum) {
  auto type = cast<RankedTensorType>(oldMax.getType());
  Type f32 = type.getElementType();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, oldMax);
  auto identity = b.getMultiDimIdentityMap(type.getRank());
  return linalg::GenericOp::create(
      b, loc, TypeRange{type, type, type}, ValueRange{oldMax, tileMax},
      ValueRange{oldMax, tensor::EmptyOp::create(b, loc, sizes, f32), sum},
      SmallVector<AffineMap>(5, identity),
      SmallVector<IteratorType>(type.getRank(), kPar),
      [&](OpBuilder &bb, Location bl, ValueRange args) {
        Value before = args[0];
        Value after = arith::MaximumFOp::create(bb, bl, before, args[1]);
        Value same = arith::CmpFOp::create(bb, bl, arith::CmpFPredicate::OEQ,
                                           before, after);
        Value one =
            arith::ConstantOp::create(bb, bl, f32, bb.getF32FloatAttr(1));
        Value shrink = math::ExpOp::create(
            bb, bl, arith::SubFOp::create(bb, bl, before, after));
        Value factor = arith::SelectOp::create(bb, bl, same, one, shrink);
        linalg::YieldOp::create(
            bb, bl,
            ValueRange{after, factor,
                       arith::MulFOp::create(bb, bl, args[4], factor)});
      });
}

/// init + the sum of `in` over its reduction dimensions (reassociable, so
/// the loop vectorizes): the online softmax's running sum.
Value addOver(OpBuilder &b, Location loc, Value in, Value init,
              ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iterators) {
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{in}, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &bb, Location bl, ValueRange args) {
               linalg::YieldOp::create(
                   bb, bl,
                   arith::AddFOp::create(bb, bl, args[1], args[0],
                                         arith::FastMathFlags::reassoc)
                       .getResult());
             })
      .getResult(0);
}

/// acc * factor, the factor broadcast by `maps` (all dimensions parallel):
/// the running weighted sum rescaled to a new max.
Value scaleBy(OpBuilder &b, Location loc, Value factor, Value acc,
              ArrayRef<AffineMap> maps) {
  return linalg::GenericOp::create(
             b, loc, acc.getType(), ValueRange{factor}, ValueRange{acc}, maps,
             SmallVector<IteratorType>(
                 cast<RankedTensorType>(acc.getType()).getRank(), kPar),
             [&](OpBuilder &bb, Location bl, ValueRange args) {
               linalg::YieldOp::create(
                   bb, bl,
                   arith::MulFOp::create(bb, bl, args[1], args[0]).getResult());
             })
      .getResult(0);
}

/// Attention of some query rows of `op`, at the builder's insertion point:
/// online softmax over tiles of `tile` positions. Per query row (kv_head,
/// group, t) it carries the running max m, the running sum l of
/// exp(score - m) and the running sum acc of exp(score - m) * v; each tile
/// rescales l and acc by exp(m_old - m_new) and adds its own terms; the
/// result is acc / l. Only a [kv_heads, group, T, tile] block of scores
/// exists at a time. `grouped` holds the query rows as [T, kvHeads, group,
/// headDim] at positions start .. start+T-1; they attend to key positions
/// [0, positions). Returns the attended rows in the same shape.
Value attendRows(OpBuilder &b, Location loc, CausalAttentionOp op,
                 Value grouped, OpFoldResult tokens, Value start,
                 Value positions, int64_t tile) {
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim(), group = heads / kvHeads;
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  Value keys = op.getKeys(), values = op.getValues();

  AffineExpr d0, d1, d2, d3, d4;
  bindDims(context, d0, d1, d2, d3, d4);
  auto mapsOf = [&](ArrayRef<ArrayRef<AffineExpr>> exprs) {
    return indexingMaps(context, exprs);
  };
  Value scaleValue = arith::ConstantOp::create(
      b, loc, f32, b.getF32FloatAttr(op.getScale().convertToDouble()));
  double negativeInfinity = -std::numeric_limits<double>::infinity();

  // Per row [kh, g, t]: running max and sum; per output [t, kh, g, d]: the
  // running weighted sum of V.
  SmallVector<OpFoldResult> rowSizes = {b.getIndexAttr(kvHeads),
                                        b.getIndexAttr(group), tokens};
  SmallVector<OpFoldResult> outSizes = {tokens, b.getIndexAttr(kvHeads),
                                        b.getIndexAttr(group),
                                        b.getIndexAttr(headDim)};
  Value maxInit = filledTensor(b, loc, rowSizes, f32, negativeInfinity);
  Value sumInit = filledTensor(b, loc, rowSizes, f32, 0.0);
  Value accInit = filledTensor(b, loc, outSizes, f32, 0.0);

  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value step = arith::ConstantIndexOp::create(b, loc, tile);
  auto loop = scf::ForOp::create(
      b, loc, zero, positions, step, ValueRange{maxInit, sumInit, accInit},
      [&](OpBuilder &nb, Location nl, Value offset, ValueRange carried) {
        Value oldMax = carried[0], sum = carried[1], acc = carried[2];
        auto [count, keyTile, valueTile] =
            positionTile(nb, nl, keys, values, offset, positions, step);

        // scores[kh, g, t, s] = q[t, kh, g, :] . keys[offset + s, kh, :]
        SmallVector<OpFoldResult> scoreSizes = {
            nb.getIndexAttr(kvHeads), nb.getIndexAttr(group), tokens, count};
        Value scores = multiplyAccumulate(
            nb, nl, {grouped, keyTile},
            filledTensor(nb, nl, scoreSizes, f32, 0.0),
            mapsOf({{d2, d0, d1, d4}, {d3, d0, d4}, {d0, d1, d2, d3}}),
            {kPar, kPar, kPar, kPar, kRed});

        // The tile's max of scale * scores over the visible positions.
        auto rowMaps = mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}});
        Value tileMax =
            linalg::GenericOp::create(
                nb, nl, maxInit.getType(), ValueRange{scores},
                ValueRange{
                    filledTensor(nb, nl, rowSizes, f32, negativeInfinity)},
                rowMaps, {kPar, kPar, kPar, kRed},
                [&](OpBuilder &bb, Location bl, ValueRange args) {
                  // The masked score as -inf, then an unconditional max
                  // without NaN handling (maxnum, nnan; a NaN score's own
                  // exp is still NaN and reaches the output): a branch-free
                  // max reduction. LLVM keeps it scalar (vmaxss) but in a
                  // register, where the select on the old max branched.
                  Value scaled =
                      arith::MulFOp::create(bb, bl, args[0], scaleValue);
                  Value visible = isVisible(bb, bl, start, offset, 2, 3);
                  Value masked = arith::SelectOp::create(
                      bb, bl, visible, scaled,
                      arith::ConstantOp::create(
                          bb, bl, f32, bb.getF32FloatAttr(negativeInfinity)));
                  linalg::YieldOp::create(
                      bb, bl,
                      arith::MaxNumFOp::create(bb, bl, args[1], masked,
                                               arith::FastMathFlags::nnan)
                          .getResult());
                })
                .getResult(0);

        linalg::GenericOp update =
            updateRunningMax(nb, nl, oldMax, tileMax, sum);
        Value newMax = update.getResult(0), factor = update.getResult(1),
              rescaledSum = update.getResult(2);

        // p = exp(scale * scores - max) where visible, else 0 (in place of
        // the scores).
        Value probs =
            linalg::GenericOp::create(
                nb, nl, scores.getType(), ValueRange{scores, newMax},
                ValueRange{scores},
                mapsOf({{d0, d1, d2, d3}, {d0, d1, d2}, {d0, d1, d2, d3}}),
                {kPar, kPar, kPar, kPar},
                [&](OpBuilder &bb, Location bl, ValueRange args) {
                  Value scaled =
                      arith::MulFOp::create(bb, bl, args[0], scaleValue);
                  Value shifted =
                      arith::SubFOp::create(bb, bl, scaled, args[1]);
                  Value e = math::ExpOp::create(bb, bl, shifted);
                  Value zeroF = arith::ConstantOp::create(
                      bb, bl, f32, bb.getF32FloatAttr(0));
                  Value visible = isVisible(bb, bl, start, offset, 2, 3);
                  linalg::YieldOp::create(
                      bb, bl,
                      arith::SelectOp::create(bb, bl, visible, e, zeroF)
                          .getResult());
                })
                .getResult(0);

        // sum += sum_s p
        Value newSum = addOver(nb, nl, probs, rescaledSum, rowMaps,
                               {kPar, kPar, kPar, kRed});

        // acc = acc * factor + sum_s p[kh, g, t, s] * values[kh, d, offset + s]
        Value rescaledAcc = scaleBy(nb, nl, factor, acc,
                                    mapsOf({{d1, d2, d0}, {d0, d1, d2, d3}}));
        Value newAcc = multiplyAccumulate(
            nb, nl, {probs, valueTile}, rescaledAcc,
            mapsOf({{d1, d2, d0, d4}, {d1, d3, d4}, {d0, d1, d2, d3}}),
            {kPar, kPar, kPar, kPar, kRed});
        scf::YieldOp::create(nb, nl, ValueRange{newMax, newSum, newAcc});
      });

  // out[t, kh, g, d] = acc / sum
  Value sum = loop.getResult(1), acc = loop.getResult(2);
  return linalg::GenericOp::create(
             b, loc, acc.getType(), ValueRange{sum}, ValueRange{acc},
             mapsOf({{d1, d2, d0}, {d0, d1, d2, d3}}), {kPar, kPar, kPar, kPar},
             [&](OpBuilder &bb, Location bl, ValueRange args) {
               linalg::YieldOp::create(
                   bb, bl,
                   arith::DivFOp::create(bb, bl, args[1], args[0]).getResult());
             })
      .getResult(0);
}

/// attendRows with the query rows as columns: the same online softmax, for
/// blocks with enough query rows to fill vectors. The block's queries
/// (scaled) are transposed once to qT[kh, d, j], j = g * rows + t, and the
/// tile's scores are computed as scoresT[kh, s, j] = sum_d keys[s, kh, d] *
/// qT[kh, d, j]; the weighted sum as accT[kh, d, j] += sum_s values[kh, d,
/// s] * p[kh, s, j]. Both are column contractions (j contiguous in the
/// output and in qT or p; keys and values read as stored in the cache), so
/// the packed kernel takes their outer products: no horizontal sums, where
/// the row form's dot products reduce every score and every output across
/// lanes. The softmax's max and sum run over s with j innermost, so they
/// vectorize along j too. Returns the attended rows as [T, kvHeads, group,
/// headDim], as attendRows.
/// `keys` ([positions, kvHeads, headDim]) and `values` ([kvHeads, headDim,
/// positions]) hold the KV heads that `grouped`'s rows attend to: all of
/// op's, or a slice of them.
Value attendColumns(OpBuilder &b, Location loc, CausalAttentionOp op,
                    Value keys, Value values, Value grouped,
                    OpFoldResult tokens, Value start, Value positions,
                    int64_t tile) {
  int64_t kvHeads = cast<RankedTensorType>(keys.getType()).getDimSize(1),
          headDim = op.getHeadDim(),
          group = op.getNumHeads() / op.getNumKvHeads();
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  AffineExpr d0, d1, d2, d3;
  bindDims(context, d0, d1, d2, d3);
  auto mapsOf = [&](ArrayRef<ArrayRef<AffineExpr>> exprs) {
    return indexingMaps(context, exprs);
  };
  Value scaleValue = arith::ConstantOp::create(
      b, loc, f32, b.getF32FloatAttr(op.getScale().convertToDouble()));
  double negativeInfinity = -std::numeric_limits<double>::infinity();
  OpFoldResult kvHeadsAttr = b.getIndexAttr(kvHeads),
               groupAttr = b.getIndexAttr(group),
               headDimAttr = b.getIndexAttr(headDim);
  Value rows = getValueOrCreateConstantIndexOp(b, loc, tokens);
  OpFoldResult columns =
      group == 1
          ? tokens
          : OpFoldResult(
                arith::MulIOp::create(
                    b, loc, rows, arith::ConstantIndexOp::create(b, loc, group))
                    .getResult());

  // qT[kh, d, g, t] = scale * q[t, kh, g, d], then (g, t) as one j. The
  // loops run with d innermost: reads along q's rows, writes a row of qT
  // (J values) apart. With t innermost the reads were heads * head_dim
  // apart, a power of two that put all of a block's rows in one L1 set.
  Value qT4 =
      linalg::GenericOp::create(
          b, loc,
          RankedTensorType::get({kvHeads, headDim, group, ShapedType::kDynamic},
                                f32),
          ValueRange{grouped},
          ValueRange{tensor::EmptyOp::create(
              b, loc, {kvHeadsAttr, headDimAttr, groupAttr, tokens}, f32)},
          mapsOf({{d2, d0, d1, d3}, {d0, d3, d1, d2}}),
          {kPar, kPar, kPar, kPar},
          [&](OpBuilder &bb, Location bl, ValueRange args) {
            linalg::YieldOp::create(
                bb, bl,
                arith::MulFOp::create(bb, bl, args[0], scaleValue).getResult());
          })
          .getResult(0);
  Value qT = tensor::CollapseShapeOp::create(
      b, loc, qT4, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});

  SmallVector<OpFoldResult> rowSizes = {kvHeadsAttr, columns};
  SmallVector<OpFoldResult> accSizes = {kvHeadsAttr, headDimAttr, columns};
  Value maxInit = filledTensor(b, loc, rowSizes, f32, negativeInfinity);
  Value sumInit = filledTensor(b, loc, rowSizes, f32, 0.0);
  Value accInit = filledTensor(b, loc, accSizes, f32, 0.0);
  auto rowType = cast<RankedTensorType>(maxInit.getType());

  // Column j is query row j mod rows. With groups, the rows are computed
  // once per block (rowOfColumn, i32) and read by the masked ops as one
  // more input: a vector remainder by a run-time divisor is a scalar
  // division per lane.
  Value rowOfColumn;
  if (group > 1)
    rowOfColumn =
        linalg::GenericOp::create(
            b, loc,
            RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type()),
            ValueRange{},
            ValueRange{
                tensor::EmptyOp::create(b, loc, {columns}, b.getI32Type())},
            mapsOf({{d0}}), {kPar},
            [&](OpBuilder &bb, Location bl, ValueRange) {
              Value j = linalg::IndexOp::create(bb, bl, 0);
              linalg::YieldOp::create(
                  bb, bl,
                  arith::IndexCastOp::create(
                      bb, bl, bb.getI32Type(),
                      arith::RemUIOp::create(bb, bl, j, rows))
                      .getResult());
            })
            .getResult(0);
  // The masked ops' inputs and maps: `inputs` and, with groups,
  // rowOfColumn along j.
  auto withRows = [&](SmallVector<Value> inputs,
                      SmallVector<AffineMap> inputMaps, AffineMap outputMap,
                      bool masked) {
    if (masked && rowOfColumn) {
      inputs.push_back(rowOfColumn);
      inputMaps.push_back(mapsOf({{d2}})[0]);
    }
    inputMaps.push_back(outputMap);
    return std::make_pair(inputs, inputMaps);
  };
  // Key position offset + s is visible from column j: compared as i32
  // (positions fit: max_positions is an int32), so the vectorized mask
  // takes 8 lanes per AVX2 register, not 4 of i64, and signed (AVX2 has no
  // unsigned compare). `row` is rowOfColumn's value, or null without groups.
  auto visible = [&](OpBuilder &bb, Location bl, Value offset, unsigned sDim,
                     unsigned jDim, Value row) {
    auto narrow = [&](Value position) {
      return arith::IndexCastOp::create(bb, bl, bb.getI32Type(), position);
    };
    if (!row)
      row = narrow(linalg::IndexOp::create(bb, bl, jDim));
    Value s = linalg::IndexOp::create(bb, bl, sDim);
    return arith::CmpIOp::create(
        bb, bl, arith::CmpIPredicate::sle,
        narrow(arith::AddIOp::create(bb, bl, offset, s)),
        arith::AddIOp::create(bb, bl, narrow(start), row));
  };

  // The online softmax's step over one tile of positions (positionTile).
  // `masked`: the tile may hold positions that some of the block's rows do
  // not see.
  Value step = arith::ConstantIndexOp::create(b, loc, tile);
  auto tileStep = [&](OpBuilder &nb, Location nl, Value offset, Value end,
                      ValueRange carried, bool masked) {
    Value oldMax = carried[0], sum = carried[1], acc = carried[2];
    auto [count, keyTile, valueTile] =
        positionTile(nb, nl, keys, values, offset, end, step);

    // scoresT[kh, s, j] = sum_d keys[offset + s, kh, d] * qT[kh, d, j]
    Value scores = multiplyAccumulate(
        nb, nl, {keyTile, qT},
        filledTensor(nb, nl, {kvHeadsAttr, count, columns}, f32, 0.0),
        mapsOf({{d1, d0, d3}, {d0, d3, d2}, {d0, d1, d2}}),
        {kPar, kPar, kPar, kRed});
    auto tileMaps = mapsOf({{d0, d1, d2}, {d0, d2}});

    // The tile's max over the visible positions, per column.
    auto [maxInputs, maxMaps] =
        withRows({scores}, {tileMaps[0]}, tileMaps[1], masked);
    Value tileMax =
        linalg::GenericOp::create(
            nb, nl, rowType, maxInputs,
            ValueRange{filledTensor(nb, nl, rowSizes, f32, negativeInfinity)},
            maxMaps, {kPar, kRed, kPar},
            [&](OpBuilder &bb, Location bl, ValueRange args) {
              Value score = args[0];
              if (masked)
                score = arith::SelectOp::create(
                    bb, bl,
                    visible(bb, bl, offset, 1, 2,
                            rowOfColumn ? args[1] : Value()),
                    score,
                    arith::ConstantOp::create(
                        bb, bl, f32, bb.getF32FloatAttr(negativeInfinity)));
              linalg::YieldOp::create(
                  bb, bl,
                  arith::MaxNumFOp::create(bb, bl, args.back(), score,
                                           arith::FastMathFlags::nnan)
                      .getResult());
            })
            .getResult(0);

    linalg::GenericOp update = updateRunningMax(nb, nl, oldMax, tileMax, sum);
    Value newMax = update.getResult(0), factor = update.getResult(1),
          rescaledSum = update.getResult(2);

    // p = exp(scoresT - max) where visible, else 0 (in place).
    SmallVector<AffineMap> expMaps =
        mapsOf({{d0, d1, d2}, {d0, d2}, {d0, d1, d2}});
    auto [expInputs, expAllMaps] = withRows(
        {scores, newMax}, {expMaps[0], expMaps[1]}, expMaps[2], masked);
    Value probs =
        linalg::GenericOp::create(
            nb, nl, scores.getType(), expInputs, ValueRange{scores}, expAllMaps,
            {kPar, kPar, kPar},
            [&](OpBuilder &bb, Location bl, ValueRange args) {
              Value e = math::ExpOp::create(
                  bb, bl, arith::SubFOp::create(bb, bl, args[0], args[1]));
              if (masked)
                e = arith::SelectOp::create(
                    bb, bl,
                    visible(bb, bl, offset, 1, 2,
                            rowOfColumn ? args[2] : Value()),
                    e,
                    arith::ConstantOp::create(bb, bl, f32,
                                              bb.getF32FloatAttr(0)));
              linalg::YieldOp::create(bb, bl, e);
            })
            .getResult(0);

    // sum += sum_s p
    Value newSum =
        addOver(nb, nl, probs, rescaledSum, tileMaps, {kPar, kRed, kPar});

    // accT = accT * factor + sum_s values[kh, d, offset + s] * p[kh, s, j]
    Value rescaledAcc =
        scaleBy(nb, nl, factor, acc, mapsOf({{d0, d2}, {d0, d1, d2}}));
    Value newAcc =
        multiplyAccumulate(nb, nl, {valueTile, probs}, rescaledAcc,
                           mapsOf({{d0, d1, d3}, {d0, d3, d2}, {d0, d1, d2}}),
                           {kPar, kPar, kPar, kRed});
    scf::YieldOp::create(nb, nl, ValueRange{newMax, newSum, newAcc});
  };

  // Every position before the block's first row is visible to all of its
  // rows: those tiles (most of a prompt's) skip the mask. The tiles from
  // there to `positions` mask.
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value unmaskedEnd = arith::MinSIOp::create(b, loc, start, positions);
  auto loopOver = [&](Value from, Value to, ValueRange init, bool masked) {
    return scf::ForOp::create(
        b, loc, from, to, step, init,
        [&](OpBuilder &nb, Location nl, Value offset, ValueRange carried) {
          tileStep(nb, nl, offset, to, carried, masked);
        });
  };
  auto unmasked =
      loopOver(zero, unmaskedEnd, ValueRange{maxInit, sumInit, accInit}, false);
  auto loop = loopOver(unmaskedEnd, positions, unmasked.getResults(), true);

  // out[t, kh, g, d] = accT[kh, d, (g, t)] / sum[kh, (g, t)]
  Value sum4 = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({kvHeads, group, ShapedType::kDynamic}, f32),
      loop.getResult(1), ArrayRef<ReassociationIndices>{{0}, {1, 2}},
      ArrayRef<OpFoldResult>{kvHeadsAttr, groupAttr, tokens});
  Value acc4 = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({kvHeads, headDim, group, ShapedType::kDynamic},
                            f32),
      loop.getResult(2), ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}},
      ArrayRef<OpFoldResult>{kvHeadsAttr, headDimAttr, groupAttr, tokens});
  SmallVector<OpFoldResult> outSizes = {tokens, kvHeadsAttr, groupAttr,
                                        headDimAttr};
  return linalg::GenericOp::create(
             b, loc,
             RankedTensorType::get(
                 {ShapedType::kDynamic, kvHeads, group, headDim}, f32),
             ValueRange{acc4, sum4},
             ValueRange{tensor::EmptyOp::create(b, loc, outSizes, f32)},
             mapsOf({{d1, d3, d2, d0}, {d1, d2, d0}, {d0, d1, d2, d3}}),
             {kPar, kPar, kPar, kPar},
             [&](OpBuilder &bb, Location bl, ValueRange args) {
               linalg::YieldOp::create(
                   bb, bl,
                   arith::DivFOp::create(bb, bl, args[0], args[1]).getResult());
             })
      .getResult(0);
}

/// attendColumns one KV head at a time, the heads spread over the threads
/// by an scf.forall: a head's score tile ([positions, rows x group]) stays
/// in L2 through the softmax's passes over it, and the block is one
/// parallel region instead of one per loop nest (the loops inside run
/// sequentially in each thread).
Value attendColumnsPerKvHead(OpBuilder &b, Location loc, CausalAttentionOp op,
                             Value grouped, OpFoldResult tokens, Value start,
                             Value positions, int64_t tile) {
  int64_t kvHeads = op.getNumKvHeads(), headDim = op.getHeadDim(),
          group = op.getNumHeads() / kvHeads;
  Value keys = op.getKeys(), values = op.getValues();
  SmallVector<OpFoldResult> rowSizes = tensor::getMixedSizes(b, loc, grouped);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(kvHeads)},
      ValueRange{tensor::EmptyOp::create(b, loc, rowSizes, b.getF32Type())},
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value kh = forall.getInductionVar(0);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
               headDimAttr = b.getIndexAttr(headDim);
  Value keysOfHead = tensor::ExtractSliceOp::create(
      b, loc, keys, {zero, kh, zero},
      {tensor::getMixedSize(b, loc, keys, 0), one, headDimAttr},
      {one, one, one});
  Value valuesOfHead = tensor::ExtractSliceOp::create(
      b, loc, values, {kh, zero, zero},
      {one, headDimAttr, tensor::getMixedSize(b, loc, values, 2)},
      {one, one, one});
  SmallVector<OpFoldResult> offsets = {zero, kh, zero, zero};
  SmallVector<OpFoldResult> sizes = {tokens, one, b.getIndexAttr(group),
                                     headDimAttr};
  SmallVector<OpFoldResult> strides(4, one);
  Value rowsOfHead =
      tensor::ExtractSliceOp::create(b, loc, grouped, offsets, sizes, strides);
  Value attended = attendColumns(b, loc, op, keysOfHead, valuesOfHead,
                                 rowsOfHead, tokens, start, positions, tile);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      b, loc, attended, forall.getRegionIterArgs()[0], offsets, sizes, strides);
  return forall.getResult(0);
}

/// The [T, heads, headDim] result of `op` at the builder's insertion point:
/// blocks of `queryBlock` query rows, each attending (attendRows) only to
/// the key positions up to its last row's own, so a prompt's causal
/// attention skips most of the masked half of its scores: with 512 rows in
/// blocks of 64, 56% of the full score matrix is computed instead of 100%.
Value lowerCausalAttention(OpBuilder &b, CausalAttentionOp op, int64_t tile,
                           int64_t queryBlock, int64_t minColumns) {
  Location loc = op.getLoc();
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
          headDim = op.getHeadDim(), group = heads / kvHeads;
  Type f32 = b.getF32Type();
  Value q = op.getQuery();
  OpFoldResult tokens = dimSize(b, loc, q, 0);
  Value start = op.getStartPos();
  if (!start)
    start = arith::ConstantIndexOp::create(b, loc, 0);
  Value positions = tensor::DimOp::create(b, loc, op.getKeys(), 0);

  // q as [T, kvHeads, group, headDim]: query head kh*group+g uses KV head kh.
  auto groupedType = RankedTensorType::get(
      {op.getType().getDimSize(0), kvHeads, group, headDim}, f32);
  Value grouped = tensor::ExpandShapeOp::create(
      b, loc, groupedType, q, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}},
      ArrayRef<OpFoldResult>{tokens, b.getIndexAttr(kvHeads),
                             b.getIndexAttr(group), b.getIndexAttr(headDim)});
  SmallVector<OpFoldResult> outSizes = {tokens, b.getIndexAttr(kvHeads),
                                        b.getIndexAttr(group),
                                        b.getIndexAttr(headDim)};
  Value out = tensor::EmptyOp::create(b, loc, outSizes, f32);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value block = arith::ConstantIndexOp::create(b, loc, queryBlock);
  Value rowCount = getValueOrCreateConstantIndexOp(b, loc, tokens);
  auto loop = scf::ForOp::create(
      b, loc, zero, rowCount, block, ValueRange{out},
      [&](OpBuilder &nb, Location nl, Value t0, ValueRange carried) {
        Value rows = arith::MinSIOp::create(
            nb, nl, block, arith::SubIOp::create(nb, nl, rowCount, t0));
        OpFoldResult zeroAttr = nb.getIndexAttr(0),
                     oneAttr = nb.getIndexAttr(1);
        SmallVector<OpFoldResult> offsets = {t0, zeroAttr, zeroAttr, zeroAttr};
        SmallVector<OpFoldResult> sizes = {rows, nb.getIndexAttr(kvHeads),
                                           nb.getIndexAttr(group),
                                           nb.getIndexAttr(headDim)};
        SmallVector<OpFoldResult> strides(4, oneAttr);
        Value rowsOfQ = tensor::ExtractSliceOp::create(nb, nl, grouped, offsets,
                                                       sizes, strides);
        Value blockStart = arith::AddIOp::create(nb, nl, start, t0);
        // Positions up to the block's last row: start + t0 + rows - 1.
        Value visibleEnd = arith::MinSIOp::create(
            nb, nl, positions, arith::AddIOp::create(nb, nl, blockStart, rows));
        Value attended;
        if (minColumns <= 0) {
          attended = attendRows(nb, nl, op, rowsOfQ, rows, blockStart,
                                visibleEnd, tile);
        } else {
          // Enough query rows x group to fill the column kernel's panels:
          // the column form; fewer (decode, a short last block): rows.
          Value enough = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::sge,
              arith::MulIOp::create(
                  nb, nl, rows, arith::ConstantIndexOp::create(nb, nl, group)),
              arith::ConstantIndexOp::create(nb, nl, minColumns));
          auto choice = scf::IfOp::create(
              nb, nl, enough,
              [&](OpBuilder &tb, Location tl) {
                scf::YieldOp::create(tb, tl,
                                     attendColumnsPerKvHead(tb, tl, op, rowsOfQ,
                                                            rows, blockStart,
                                                            visibleEnd, tile));
              },
              [&](OpBuilder &eb, Location el) {
                Value byRows = attendRows(eb, el, op, rowsOfQ, rows, blockStart,
                                          visibleEnd, tile);
                scf::YieldOp::create(
                    eb, el,
                    tensor::CastOp::create(eb, el, byRows.getType(), byRows)
                        .getResult());
              });
          attended = choice.getResult(0);
        }
        scf::YieldOp::create(nb, nl,
                             tensor::InsertSliceOp::create(nb, nl, attended,
                                                           carried[0], offsets,
                                                           sizes, strides)
                                 .getResult());
      });
  return tensor::CollapseShapeOp::create(
      b, loc, op.getType(), loop.getResult(0),
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
}

struct LowerAttentionPass
    : matc::cpu::impl::LowerAttentionBase<LowerAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    if (columnForm < 0) {
      getOperation()->emitError()
          << "matc-cpu-lower-attention: column-form must be 0 (never) or "
             "more, got "
          << static_cast<int64_t>(columnForm);
      return signalPassFailure();
    }
    if (positionTile < 1 || queryBlock < 1) {
      getOperation()->emitError()
          << "matc-cpu-lower-attention: position-tile and query-block must be "
             "positive, got "
          << static_cast<int64_t>(positionTile) << " and "
          << static_cast<int64_t>(queryBlock);
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    getOperation()->walk([&](CausalAttentionOp op) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOp(op, lowerCausalAttention(rewriter, op, positionTile,
                                                  queryBlock, columnForm));
    });
  }
};

} // namespace

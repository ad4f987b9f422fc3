//===- VectorizeTransposes.cpp - linalg.transpose in register tiles -------===//
//
// A transpose that moves the innermost dimension (the V cache's append:
// [T, kv_heads, head_dim] -> [kv_heads, head_dim, positions]) became loops
// whose innermost one read its source a whole row apart per element: 4 KiB
// apart on the 270M spec, scalar loads that LLVM packed four at a time,
// about 2% of a prefill. Here it runs in tiles of lanes x lanes: `lanes`
// vector loads along the source's rows, a transpose in registers (log2
// lanes rounds of interleaves, which LLVM lowers to unpack and permute
// shuffles), `lanes` vector stores along the destination's rows. The
// tiles are an scf.parallel over the other dimensions and both tiled ones;
// the edges that do not fill a tile stay linalg.transpose ops on subviews
// and become loops as before.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace matc::cpu {
#define GEN_PASS_DEF_VECTORIZETRANSPOSES
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

/// A memref whose innermost dimension is contiguous.
bool innermostContiguous(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || !type.getElementType().isF32() || type.getRank() < 2)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

/// The transposes this pass tiles: f32 buffers, contiguous rows, and a
/// permutation that moves the innermost dimension.
bool isTileable(linalg::TransposeOp op) {
  ArrayRef<int64_t> permutation = op.getPermutation();
  return op.hasPureBufferSemantics() && innermostContiguous(op.getInput()) &&
         innermostContiguous(op.getInit()) &&
         permutation.back() != static_cast<int64_t>(permutation.size()) - 1;
}

/// The rows of a lanes x lanes matrix transposed: log2(lanes) rounds, each
/// interleaving row i with row i + lanes/2 into rows 2i and 2i + 1 (the
/// perfect shuffle, whose log2(lanes)-fold repetition is the transpose).
SmallVector<Value> transposeRows(OpBuilder &b, Location loc,
                                 SmallVector<Value> rows) {
  int64_t lanes = rows.size(), half = lanes / 2;
  SmallVector<int64_t> low, high;
  for (int64_t k = 0; k < half; ++k) {
    low.append({k, lanes + k});
    high.append({half + k, lanes + half + k});
  }
  for (int64_t round = 1; round < lanes; round *= 2) {
    SmallVector<Value> next(lanes);
    for (int64_t i = 0; i < half; ++i) {
      next[2 * i] =
          vector::ShuffleOp::create(b, loc, rows[i], rows[i + half], low);
      next[2 * i + 1] =
          vector::ShuffleOp::create(b, loc, rows[i], rows[i + half], high);
    }
    rows = std::move(next);
  }
  return rows;
}

/// The part of `op` in output dimensions [offsets, offsets + sizes), as a
/// linalg.transpose of subviews.
void transposePart(OpBuilder &b, linalg::TransposeOp op,
                   ArrayRef<OpFoldResult> offsets,
                   ArrayRef<OpFoldResult> sizes) {
  ArrayRef<int64_t> permutation = op.getPermutation();
  int64_t rank = permutation.size();
  SmallVector<OpFoldResult> inOffsets(rank), inSizes(rank);
  for (int64_t d = 0; d < rank; ++d) {
    inOffsets[permutation[d]] = offsets[d];
    inSizes[permutation[d]] = sizes[d];
  }
  SmallVector<OpFoldResult> ones(rank, b.getIndexAttr(1));
  Location loc = op.getLoc();
  Value in = memref::SubViewOp::create(b, loc, op.getInput(), inOffsets,
                                       inSizes, ones);
  Value out =
      memref::SubViewOp::create(b, loc, op.getInit(), offsets, sizes, ones);
  linalg::TransposeOp::create(b, loc, in, out, permutation);
}

void vectorizeTranspose(IRRewriter &rewriter, linalg::TransposeOp op,
                        int64_t lanes) {
  Location loc = op.getLoc();
  ArrayRef<int64_t> permutation = op.getPermutation();
  int64_t rank = permutation.size();
  // Output dimension `inner` (innermost) reads input dimension
  // permutation[inner]; output dimension `across` reads the input's
  // innermost one.
  int64_t inner = rank - 1;
  int64_t across = llvm::find(permutation, rank - 1) - permutation.begin();
  Value in = op.getInput(), out = op.getInit();
  rewriter.setInsertionPoint(op);
  SmallVector<OpFoldResult> sizes =
      memref::getMixedSizes(rewriter, loc, out);
  // The extents of the two tiled dimensions that whole tiles cover.
  auto whole = [&](int64_t dim) -> OpFoldResult {
    if (std::optional<int64_t> size = getConstantIntValue(sizes[dim]))
      return rewriter.getIndexAttr(*size - *size % lanes);
    Value size = getValueOrCreateConstantIndexOp(rewriter, loc, sizes[dim]);
    Value lanesValue = arith::ConstantIndexOp::create(rewriter, loc, lanes);
    return arith::SubIOp::create(
               rewriter, loc, size,
               arith::RemUIOp::create(rewriter, loc, size, lanesValue))
        .getResult();
  };
  OpFoldResult wholeInner = whole(inner), wholeAcross = whole(across);

  // The tiles.
  SmallVector<Value> lower, upper, steps;
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  for (int64_t d = 0; d < rank; ++d) {
    lower.push_back(zero);
    OpFoldResult end =
        d == inner ? wholeInner : d == across ? wholeAcross : sizes[d];
    upper.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, end));
    steps.push_back(d == inner || d == across
                        ? arith::ConstantIndexOp::create(rewriter, loc, lanes)
                        : one);
  }
  // A decode step's single row fills no tile: skip the parallel loop,
  // which would still start the threads.
  std::optional<scf::IfOp> guard;
  if (!getConstantIntValue(wholeInner) || !getConstantIntValue(wholeAcross)) {
    Value any = arith::AndIOp::create(
        rewriter, loc,
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sgt,
                              upper[inner], zero),
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sgt,
                              upper[across], zero));
    guard = scf::IfOp::create(rewriter, loc, any, /*withElseRegion=*/false);
    rewriter.setInsertionPointToStart(guard->thenBlock());
  }
  scf::ParallelOp::create(
      rewriter, loc, lower, upper, steps,
      [&](OpBuilder &b, Location l, ValueRange ivs) {
        auto plus = [&](Value base, int64_t k) -> Value {
          return k == 0 ? base
                        : arith::AddIOp::create(
                              b, l, base, arith::ConstantIndexOp::create(b, l, k))
                              .getResult();
        };
        auto vectorType = VectorType::get({lanes}, b.getF32Type());
        // Row i: input[.., permutation[inner] = ivs[inner] + i, ..,
        // innermost = ivs[across] ..], i.e. output[.., across = ivs[across]
        // + j, .., inner = ivs[inner] + i] over j.
        SmallVector<Value> rows;
        for (int64_t i = 0; i < lanes; ++i) {
          SmallVector<Value> index(rank);
          for (int64_t d = 0; d < rank; ++d)
            index[permutation[d]] = d == inner ? plus(ivs[d], i) : ivs[d];
          rows.push_back(vector::LoadOp::create(b, l, vectorType, in, index));
        }
        SmallVector<Value> columns = transposeRows(b, l, rows);
        for (int64_t j = 0; j < lanes; ++j) {
          SmallVector<Value> index(ivs);
          index[across] = plus(ivs[across], j);
          vector::StoreOp::create(b, l, columns[j], out, index);
        }
      });

  if (guard)
    rewriter.setInsertionPointAfter(*guard);

  // The edges: the inner dimension's last partial tile over every row, and
  // the across dimension's over the whole tiles' extent of the inner one.
  OpFoldResult zeroAttr = rewriter.getIndexAttr(0);
  auto rest = [&](OpFoldResult from, OpFoldResult size) -> OpFoldResult {
    std::optional<int64_t> a = getConstantIntValue(from),
                           b = getConstantIntValue(size);
    if (a && b)
      return rewriter.getIndexAttr(*b - *a);
    return getAsOpFoldResult(arith::SubIOp::create(
        rewriter, loc, getValueOrCreateConstantIndexOp(rewriter, loc, size),
        getValueOrCreateConstantIndexOp(rewriter, loc, from)));
  };
  auto staticallyEmpty = [&](OpFoldResult from, OpFoldResult size) {
    std::optional<int64_t> a = getConstantIntValue(from),
                           b = getConstantIntValue(size);
    return a && b && *a == *b;
  };
  if (!staticallyEmpty(wholeInner, sizes[inner])) {
    SmallVector<OpFoldResult> offsets(rank, zeroAttr), partSizes(sizes);
    offsets[inner] = wholeInner;
    partSizes[inner] = rest(wholeInner, sizes[inner]);
    transposePart(rewriter, op, offsets, partSizes);
  }
  if (!staticallyEmpty(wholeAcross, sizes[across])) {
    SmallVector<OpFoldResult> offsets(rank, zeroAttr), partSizes(sizes);
    offsets[across] = wholeAcross;
    partSizes[across] = rest(wholeAcross, sizes[across]);
    partSizes[inner] = wholeInner;
    transposePart(rewriter, op, offsets, partSizes);
  }
  rewriter.eraseOp(op);
}

struct VectorizeTransposesPass
    : matc::cpu::impl::VectorizeTransposesBase<VectorizeTransposesPass> {
  using Base::Base;

  void runOnOperation() override {
    if (lanes < 2 || !llvm::isPowerOf2_64(lanes)) {
      getOperation()->emitError()
          << "matc-cpu-vectorize-transposes: lanes must be a power of two "
             "from 2, got "
          << static_cast<int64_t>(lanes);
      return signalPassFailure();
    }
    SmallVector<linalg::TransposeOp> transposes;
    getOperation()->walk([&](linalg::TransposeOp op) {
      if (isTileable(op))
        transposes.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::TransposeOp op : transposes)
      vectorizeTranspose(rewriter, op, lanes);
  }
};

} // namespace

//===- VectorizeTransposes.cpp - transposing elementwise ops in tiles -----===//
//
// An elementwise op whose output's innermost dimension is not its inputs'
// became loops whose innermost one read an input a whole row apart per
// element. The V cache's append ([T, kv_heads, head_dim] -> [kv_heads,
// head_dim, positions]) read 4 KiB apart on the 270M spec, scalar loads
// that LLVM packed four at a time: about 2% of a prefill; attention's
// column form has two more (its scaled queries, transposed to [head_dim,
// rows], and its normalized output, transposed back). Here such an op runs
// in tiles of lanes x lanes: per row of the tile, vector loads along the
// inputs' rows and the op's body on vectors; a transpose in registers
// (log2 lanes rounds of interleaves, which LLVM lowers to unpack and
// permute shuffles); `lanes` vector stores along the output's rows. The
// tiles are an scf.parallel over the other dimensions and both tiled ones;
// the edges that do not fill a tile stay clones of the op on subviews and
// become loops as before.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
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
  if (!type || !type.getElementType().isF32() || type.getRank() < 1)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

/// The loop dimension of `map`'s innermost result.
int64_t innermostDim(AffineMap map) {
  return map.getDimPosition(map.getNumResults() - 1);
}

/// What the pass tiles: an all-parallel op on buffers whose output is f32
/// with contiguous rows, whose inputs are f32 buffers, contiguous along
/// one other loop dimension `across` (the transposed one), and whose body
/// is elementwise arithmetic on the inputs (no index, no read of the
/// output). `inner` is the output's innermost loop dimension.
struct TileableOp {
  linalg::LinalgOp op;
  int64_t inner = -1, across = -1;
};

std::optional<TileableOp> asTileable(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() || op.getNumLoops() < 2)
    return std::nullopt;
  OpOperand *init = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(init);
  if (!outMap.isPermutation() || !innermostContiguous(init->get()))
    return std::nullopt;
  TileableOp tileable{op, innermostDim(outMap), -1};
  bool transposes = false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    // (An input that is the output buffer itself would be overwritten by
    // one tile before another reads it.)
    if (input->get() == init->get() || !innermostContiguous(input->get()) ||
        !map.isProjectedPermutation() || map.getNumResults() == 0)
      return std::nullopt;
    int64_t dim = innermostDim(map);
    if (dim == tileable.inner ||
        (tileable.across >= 0 && dim != tileable.across))
      return std::nullopt;
    tileable.across = dim;
    transposes |= map.isFunctionOfDim(tileable.inner);
  }
  if (!transposes)
    return std::nullopt;
  Block *body = op.getBlock();
  if (!op.getMatchingBlockArgument(init).use_empty())
    return std::nullopt;
  for (Operation &inner : body->without_terminator())
    if (!OpTrait::hasElementwiseMappableTraits(&inner) ||
        inner.getNumRegions() != 0 ||
        !llvm::all_of(inner.getResultTypes(),
                      [](Type t) { return t.isIntOrIndexOrFloat(); }))
      return std::nullopt;
  return tileable;
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

/// `op`'s body on vectors of `lanes`: each input block argument becomes its
/// vector in `inputs`, a value from above is broadcast.
Value vectorBody(OpBuilder &b, Location loc, linalg::LinalgOp op,
                 ArrayRef<Value> inputs, int64_t lanes) {
  Block *body = op.getBlock();
  IRMapping mapping;
  for (auto [argument, vector] :
       llvm::zip(body->getArguments().take_front(inputs.size()), inputs))
    mapping.map(argument, vector);
  auto vectorOf = [&](Value scalar) -> Value {
    if (Value mapped = mapping.lookupOrNull(scalar))
      return mapped;
    Value broadcast = vector::BroadcastOp::create(
        b, loc, VectorType::get({lanes}, scalar.getType()), scalar);
    mapping.map(scalar, broadcast);
    return broadcast;
  };
  for (Operation &scalar : body->without_terminator()) {
    OperationState state(loc, scalar.getName());
    for (Value operand : scalar.getOperands())
      state.operands.push_back(vectorOf(operand));
    for (Type type : scalar.getResultTypes())
      state.types.push_back(VectorType::get({lanes}, type));
    state.attributes = scalar.getAttrs();
    Operation *vectorized = b.create(state);
    mapping.map(scalar.getResults(), vectorized->getResults());
  }
  return vectorOf(body->getTerminator()->getOperand(0));
}

/// `op` on loop dimensions [offsets, offsets + sizes): a clone on subviews.
void opOnPart(OpBuilder &b, linalg::LinalgOp op, ArrayRef<OpFoldResult> offsets,
              ArrayRef<OpFoldResult> sizes) {
  Location loc = op.getLoc();
  SmallVector<Value> operands;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    SmallVector<OpFoldResult> partOffsets, partSizes;
    for (unsigned r = 0; r < map.getNumResults(); ++r) {
      partOffsets.push_back(offsets[map.getDimPosition(r)]);
      partSizes.push_back(sizes[map.getDimPosition(r)]);
    }
    SmallVector<OpFoldResult> ones(map.getNumResults(), b.getIndexAttr(1));
    operands.push_back(memref::SubViewOp::create(b, loc, operand.get(),
                                                 partOffsets, partSizes, ones));
  }
  clone(b, op, TypeRange(), operands);
}

void vectorizeTranspose(IRRewriter &rewriter, const TileableOp &tileable,
                        int64_t lanes) {
  linalg::LinalgOp op = tileable.op;
  int64_t inner = tileable.inner, across = tileable.across;
  Location loc = op.getLoc();
  int64_t rank = op.getNumLoops();
  rewriter.setInsertionPoint(op);
  SmallVector<OpFoldResult> sizes;
  for (Range range : op.createLoopRanges(rewriter, loc))
    sizes.push_back(range.size);
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
    OpFoldResult end = d == inner    ? wholeInner
                       : d == across ? wholeAcross
                                     : sizes[d];
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
  OpOperand *init = op.getDpsInitOperand(0);
  scf::ParallelOp::create(
      rewriter, loc, lower, upper, steps,
      [&](OpBuilder &b, Location l, ValueRange ivs) {
        auto plus = [&](Value base, int64_t k) -> Value {
          return k == 0
                     ? base
                     : arith::AddIOp::create(
                           b, l, base, arith::ConstantIndexOp::create(b, l, k))
                           .getResult();
        };
        auto vectorType = VectorType::get({lanes}, b.getF32Type());
        // The vector of `operand` along `across` at the loop indices
        // `ivs` with `inner` moved by i.
        auto load = [&](OpOperand *operand, int64_t i) -> Value {
          AffineMap map = op.getMatchingIndexingMap(operand);
          SmallVector<Value> index;
          for (unsigned r = 0; r < map.getNumResults(); ++r) {
            unsigned dim = map.getDimPosition(r);
            index.push_back(dim == inner ? plus(ivs[dim], i) : ivs[dim]);
          }
          return vector::LoadOp::create(b, l, vectorType, operand->get(),
                                        index);
        };
        // Inputs that do not move with `inner` load once per tile.
        SmallVector<Value> fixed;
        for (OpOperand *input : op.getDpsInputOperands())
          fixed.push_back(
              op.getMatchingIndexingMap(input).isFunctionOfDim(inner)
                  ? Value()
                  : load(input, 0));
        // Row i: the results at inner = ivs[inner] + i, across the tile.
        SmallVector<Value> rows;
        for (int64_t i = 0; i < lanes; ++i) {
          SmallVector<Value> inputs;
          for (auto [input, once] : llvm::zip(op.getDpsInputOperands(), fixed))
            inputs.push_back(once ? once : load(input, i));
          rows.push_back(vectorBody(b, l, op, inputs, lanes));
        }
        SmallVector<Value> columns = transposeRows(b, l, rows);
        AffineMap outMap = op.getMatchingIndexingMap(init);
        for (int64_t j = 0; j < lanes; ++j) {
          SmallVector<Value> index;
          for (unsigned r = 0; r < outMap.getNumResults(); ++r) {
            unsigned dim = outMap.getDimPosition(r);
            index.push_back(dim == across ? plus(ivs[dim], j) : ivs[dim]);
          }
          vector::StoreOp::create(b, l, columns[j], init->get(), index);
        }
      });
  if (guard)
    rewriter.setInsertionPointAfter(*guard);

  // The edges: the inner dimension's last partial tile over everything
  // else, and the across dimension's over the inner's whole tiles.
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
    opOnPart(rewriter, op, offsets, partSizes);
  }
  if (!staticallyEmpty(wholeAcross, sizes[across])) {
    SmallVector<OpFoldResult> offsets(rank, zeroAttr), partSizes(sizes);
    offsets[across] = wholeAcross;
    partSizes[across] = rest(wholeAcross, sizes[across]);
    partSizes[inner] = wholeInner;
    opOnPart(rewriter, op, offsets, partSizes);
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
    SmallVector<TileableOp> tileable;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (std::optional<TileableOp> found = asTileable(op))
        tileable.push_back(*found);
    });
    IRRewriter rewriter(&getContext());
    for (const TileableOp &found : tileable)
      vectorizeTranspose(rewriter, found, lanes);
  }
};

} // namespace

//===- VectorizeMatmuls.cpp - register-blocked vector matmul loops --------===//
//
// C[m, n] += sum_k A[m, k] * B[n, k] with B a weight stored [out, in], and
// every other contraction over the innermost dimension of both inputs
// (matc::matchRowContraction: attention's batched ones too). A block of MB
// rows x NB columns keeps MB*NB vector accumulators along k: per `lanes`
// values of k it loads MB + NB vectors for MB*NB fused multiply-adds, where
// the plain dot-product loop loads 2 vectors per multiply-add.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"
#include "matc/Passes/BackendCommon.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace matc::cpu {
#define GEN_PASS_DEF_VECTORIZEMATMULS
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

/// The kernels' shapes, from the pass options (CpuTarget.h chooses them).
struct KernelShape {
  /// The dot-product kernel: rows x columns accumulators along k.
  int64_t lanes, rows, columns;
  /// The packed kernel (0 rows: none): packedRows x packedVectors
  /// accumulators of output columns, over packedDepth values of k at a time.
  int64_t packedRows, packedVectors, packedDepth;
};

/// The loops of one row contraction (or of one column contraction, on the
/// packed kernel's outer products only): `scf.parallel` over its batch
/// dimensions, its outer `n` dimensions and blocks of `columns` along the
/// blocked `n` dimension; inside, `scf.for` over the outer `m` dimensions
/// and blocks of `rows` along the blocked `m` dimension, each block one
/// register kernel. Every operand is indexed through its own indexing map,
/// so a projection ([M, K] x [N, K]) and attention's batched contractions
/// (heads as batch, query rows as m, key positions or head_dim as n) are
/// the same code.
class ContractionLowering {
public:
  ContractionLowering(linalg::LinalgOp op, const matc::RowContraction &dims,
                      KernelShape shape)
      : ContractionLowering(op, dims, shape, /*columnContraction=*/false) {}

  /// A column contraction (matc::matchColumnContraction): the outer-product
  /// kernel alone (no dot kernel), its panels packed from the rows of `b`
  /// (here `w`) with whole-vector copies, as they are contiguous along n.
  /// Its other reductions are sequential loops around the kernel's k loop.
  ContractionLowering(linalg::LinalgOp op,
                      const matc::ColumnContraction &column, KernelShape shape)
      : ContractionLowering(op, {column.batch, column.m, {column.n}, column.k},
                            shape, /*columnContraction=*/true, column.aInput) {
    outerReductions = column.reductions;
  }

private:
  ContractionLowering(linalg::LinalgOp op, const matc::RowContraction &dims,
                      KernelShape shape, bool columnContraction,
                      unsigned aInput = 0)
      : op(op), loc(op.getLoc()), dims(dims), shape(shape),
        columnContraction(columnContraction), a(op.getDpsInputs()[aInput]),
        w(op.getDpsInputs()[1 - aInput]), c(op.getDpsInits()[0]) {
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    aMap = maps[aInput], wMap = maps[1 - aInput], cMap = maps[2];
    SmallVector<int64_t> staticSizes = op.getStaticLoopRanges();
    mDim = blockedDimension(dims.m, staticSizes);
    nDim = blockedDimension(dims.n, staticSizes);
  }

public:
  void emit() {
    OpBuilder b(op);
    f32 = b.getF32Type();
    vectorType = VectorType::get({shape.lanes}, f32);
    weightVectorType = VectorType::get(
        {shape.lanes}, cast<MemRefType>(w.getType()).getElementType());
    for (Range range : op.createLoopRanges(b, loc))
      sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, range.size));
    kVectorEnd = roundDown(b, sizes[dims.k], shape.lanes);
    zeroFilled = eraseZeroFill();

    if (columnContraction) {
      Value transposed = transposeRowOperand(b);
      int64_t panel = shape.packedVectors * shape.lanes;
      Value panelColumns = roundDown(b, sizes[nDim], panel);
      emitPackedPanels(b, panelColumns);
      emitScalarColumns(b, panelColumns);
      if (transposed)
        memref::DeallocOp::create(b, loc, transposed);
      op->erase();
      return;
    }
    if (!canPack()) {
      emitDotKernels(b, constant(b, 0));
      op->erase();
      return;
    }
    // Enough rows to reuse a packed panel: packed panels, then the last
    // columns that fill no panel with the dot kernel. Fewer (decode): the
    // dot kernel streams each weight row once.
    int64_t panel = shape.packedVectors * shape.lanes;
    Value panelColumns = roundDown(b, sizes[nDim], panel);
    Value enoughRows =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, sizes[mDim],
                              constant(b, shape.packedRows));
    scf::IfOp::create(
        b, loc, enoughRows,
        [&](OpBuilder &tb, Location) {
          emitPackedPanels(tb, panelColumns);
          emitDotKernels(tb, panelColumns);
          scf::YieldOp::create(tb, loc);
        },
        [&](OpBuilder &eb, Location) {
          emitDotKernels(eb, constant(eb, 0));
          scf::YieldOp::create(eb, loc);
        });
    op->erase();
  }

private:
  /// Whether C was filled with zeros just before the op (the usual init of
  /// a contraction: the projections, dW = dY^T X): the fill is erased and
  /// the kernels start their accumulators at zero instead of loading C,
  /// which saves a pass over C to write the zeros and one to read them.
  /// "Just before": the nearest earlier op with a memory effect. Not where
  /// C is also an input.
  bool eraseZeroFill() {
    Operation *previous = op->getPrevNode();
    while (previous && isMemoryEffectFree(previous))
      previous = previous->getPrevNode();
    auto fill = dyn_cast_or_null<linalg::FillOp>(previous);
    if (!fill || !fill.hasPureBufferSemantics() || fill.getDpsInits()[0] != c ||
        a == c || w == c ||
        !matchPattern(fill.getDpsInputs()[0], m_AnyZeroFloat()))
      return false;
    fill->erase();
    return true;
  }

  /// Whether the kernel at `at` (and k0, where given) is the first to
  /// accumulate into its part of C: k0 and the other reductions at 0. Null
  /// (false) where C was not zero-filled.
  Value firstAccumulation(OpBuilder &b, ArrayRef<Value> at, Value k0) {
    if (!zeroFilled)
      return Value();
    Value zero = constant(b, 0), first;
    auto andZero = [&](Value index) {
      Value isZero =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, index, zero);
      first = first ? arith::AndIOp::create(b, loc, first, isZero) : isZero;
    };
    if (k0)
      andZero(k0);
    for (unsigned dim : outerReductions)
      andZero(at[dim]);
    return first ? first : arith::ConstantIntOp::create(b, loc, 1, 1);
  }

  /// C's values of `type` (f32 or a vector of them) at each of `wheres`,
  /// or zeros where `first` holds (one branch for all of them).
  SmallVector<Value> loadOutputs(OpBuilder &b, Type type,
                                 ArrayRef<SmallVector<Value>> wheres,
                                 Value first) {
    auto load = [&](OpBuilder &lb) {
      SmallVector<Value> values;
      for (ValueRange where : wheres)
        if (auto vector = dyn_cast<VectorType>(type))
          values.push_back(vector::LoadOp::create(lb, loc, vector, c, where));
        else
          values.push_back(memref::LoadOp::create(lb, loc, c, where));
      return values;
    };
    if (!first)
      return load(b);
    Value zero = arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
    auto branch = scf::IfOp::create(
        b, loc, first,
        [&](OpBuilder &tb, Location) {
          scf::YieldOp::create(tb, loc,
                               SmallVector<Value>(wheres.size(), zero));
        },
        [&](OpBuilder &eb, Location) {
          scf::YieldOp::create(eb, loc, load(eb));
        });
    return SmallVector<Value>(branch.getResults());
  }

  /// A column contraction whose `a` does not hold k innermost (dW = dY^T X,
  /// attention's dK = dS^T Q): the kernel's broadcast loads would step
  /// through `a` one row per k, rows whose power-of-two strides alias in
  /// the same few L1 sets. `a` is first copied into a buffer with the same
  /// dimension order but k moved innermost, and the kernel reads that.
  /// Returns the buffer (to free after), or null.
  Value transposeRowOperand(OpBuilder &b) {
    unsigned kPosition =
        *aMap.getResultPosition(getAffineDimExpr(dims.k, op.getContext()));
    if (kPosition + 1 == aMap.getNumResults())
      return Value();
    SmallVector<unsigned> order;
    for (AffineExpr expr : aMap.getResults())
      if (cast<AffineDimExpr>(expr).getPosition() != dims.k)
        order.push_back(cast<AffineDimExpr>(expr).getPosition());
    order.push_back(dims.k);
    SmallVector<int64_t> shapeOut;
    SmallVector<Value> dynamicSizes;
    SmallVector<int64_t> staticSizes = op.getStaticLoopRanges();
    SmallVector<AffineExpr> results;
    for (unsigned dim : order) {
      shapeOut.push_back(staticSizes[dim]);
      if (ShapedType::isDynamic(staticSizes[dim]))
        dynamicSizes.push_back(sizes[dim]);
      results.push_back(getAffineDimExpr(dim, op.getContext()));
    }
    auto type = MemRefType::get(shapeOut,
                                cast<MemRefType>(a.getType()).getElementType());
    Value buffer = memref::AllocOp::create(b, loc, type, dynamicSizes);
    // A linalg.transpose, which matc-cpu-vectorize-transposes (next in the
    // pipeline) runs in register tiles: vector loads along a's rows,
    // shuffles, vector stores along the buffer's (k) rows.
    SmallVector<int64_t> permutation;
    for (unsigned dim : order)
      permutation.push_back(
          *aMap.getResultPosition(getAffineDimExpr(dim, op.getContext())));
    linalg::TransposeOp::create(b, loc, a, buffer, permutation);
    AffineMap bufferMap =
        AffineMap::get(op.getNumLoops(), 0, results, op.getContext());
    a = buffer;
    aMap = bufferMap;
    return buffer;
  }

  /// The packed kernel covers projections ([M, K] x [N, K], one m and one n
  /// dimension, no batch) whose output rows are contiguous.
  bool canPack() {
    if (shape.packedRows < 1 || !dims.batch.empty() || dims.m.size() != 1 ||
        dims.n.size() != 1)
      return false;
    auto type = cast<MemRefType>(c.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    return cMap.getNumResults() == 2 &&
           cMap.getResult(1) == getAffineDimExpr(nDim, op.getContext()) &&
           succeeded(type.getStridesAndOffset(strides, offset)) &&
           strides.back() == 1;
  }

  /// Columns [nBegin, N) with the dot-product kernel, in parallel over the
  /// batch and outer n dimensions and blocks of `columns`.
  void emitDotKernels(OpBuilder &b, Value nBegin) {
    SmallVector<unsigned> parallelDims(dims.batch.begin(), dims.batch.end());
    for (unsigned dim : dims.n)
      if (dim != nDim)
        parallelDims.push_back(dim);
    Value columnBlock = constant(b, shape.columns);
    Value blocks = arith::CeilDivUIOp::create(
        b, loc, arith::SubIOp::create(b, loc, sizes[nDim], nBegin),
        columnBlock);
    parallelOver(
        b, parallelDims, blocks,
        [&](OpBuilder &pb, SmallVector<Value> at, Value block) {
          Value n0 = arith::AddIOp::create(
              pb, loc, nBegin,
              arith::MulIOp::create(pb, loc, block, columnBlock));
          at[nDim] = n0;
          // A full block of columns, or the last columns one at a time.
          Value full = arith::CmpIOp::create(
              pb, loc, arith::CmpIPredicate::ule,
              arith::AddIOp::create(pb, loc, n0, columnBlock), sizes[nDim]);
          scf::IfOp::create(
              pb, loc, full,
              [&](OpBuilder &tb, Location) {
                emitRows(tb, at, shape.columns);
                scf::YieldOp::create(tb, loc);
              },
              [&](OpBuilder &eb, Location) {
                forLoop(eb, n0, sizes[nDim], 1, [&](OpBuilder &fb, Value n) {
                  SmallVector<Value> column = at;
                  column[nDim] = n;
                  emitRows(fb, column, 1);
                });
                scf::YieldOp::create(eb, loc);
              });
        });
  }

  /// Columns [0, nEnd), a multiple of the panel width, in parallel over
  /// panels. Per panel and per packedDepth values of k, the weight block is
  /// copied (widened to f32) into a [depth, panel] buffer on the thread's
  /// stack, so the kernel reads it as whole vectors from L1; then every
  /// block of packedRows rows accumulates packedRows x packedVectors
  /// vectors of C with one broadcast activation per row and k (outer
  /// products, no horizontal sums). Nested widths stay views: the packing
  /// reads whatever prefix of the weight the op was given.
  void emitPackedPanels(OpBuilder &b, Value nEnd) {
    int64_t panel = shape.packedVectors * shape.lanes;
    Value panels = arith::DivUIOp::create(b, loc, nEnd, constant(b, panel));
    auto bufferType = MemRefType::get({shape.packedDepth, panel}, f32);
    // In parallel over the batch dimensions (column contractions only) and
    // the panels.
    parallelOver(
        b, dims.batch, panels,
        [&](OpBuilder &pb, SmallVector<Value> at, Value panelIndex) {
          at[nDim] =
              arith::MulIOp::create(pb, loc, panelIndex, constant(pb, panel));
          auto buffer = memref::AllocaOp::create(pb, loc, bufferType);
          // For matc-cpu-schedule-loops: this loop's iterations are long.
          buffer->setAttr(matc::cpu::kPackedPanelAttr, pb.getUnitAttr());
          forEachIndex(
              pb, at, outerReductions,
              [&](OpBuilder &rb, SmallVector<Value> reductionAt) {
                forLoop(rb, constant(rb, 0), sizes[dims.k], shape.packedDepth,
                        [&](OpBuilder &kb, Value k0) {
                          emitPackedDepthBlock(kb, buffer, reductionAt, k0);
                        });
              });
        });
  }

  void emitPackedDepthBlock(OpBuilder &b, Value buffer, ArrayRef<Value> at,
                            Value k0) {
    int64_t panel = shape.packedVectors * shape.lanes;
    Value depth = arith::MinUIOp::create(
        b, loc, constant(b, shape.packedDepth),
        arith::SubIOp::create(b, loc, sizes[dims.k], k0));
    // buffer[kk, j] = W[n0 + j, k0 + kk]: a column contraction's rows of
    // `w` are contiguous along n (whole vectors); a projection's are not.
    if (columnContraction) {
      forLoop(b, constant(b, 0), depth, 1, [&](OpBuilder &fb, Value kk) {
        Value k = arith::AddIOp::create(fb, loc, k0, kk);
        for (int64_t v = 0; v < shape.packedVectors; ++v) {
          Value loaded = vector::LoadOp::create(
              fb, loc, weightVectorType, w,
              indices(fb, wMap, at, 0, v * shape.lanes, k));
          if (loaded.getType() != vectorType)
            loaded = arith::ExtFOp::create(fb, loc, vectorType, loaded);
          vector::StoreOp::create(
              fb, loc, loaded, buffer,
              ValueRange{kk, constant(fb, v * shape.lanes)});
        }
      });
    } else {
      // Row by row of the weight, so the reads stream along k; the writes
      // stay in the buffer, which is in L1. (k outermost read 16 rows at a
      // time whose power-of-two strides alias in L1: the copy was about a
      // fifth of the kernel.)
      forLoop(b, constant(b, 0), constant(b, panel), 1,
              [&](OpBuilder &jb, Value j) {
                SmallVector<Value> row(at.begin(), at.end());
                row[nDim] = arith::AddIOp::create(jb, loc, at[nDim], j);
                forLoop(jb, constant(jb, 0), depth, 1,
                        [&](OpBuilder &fb, Value kk) {
                          Value k = arith::AddIOp::create(fb, loc, k0, kk);
                          Value weight = memref::LoadOp::create(
                              fb, loc, w, indices(fb, wMap, row, 0, 0, k));
                          if (weight.getType() != f32)
                            weight =
                                arith::ExtFOp::create(fb, loc, f32, weight);
                          memref::StoreOp::create(fb, loc, weight, buffer,
                                                  ValueRange{kk, j});
                        });
              });
    }
    SmallVector<unsigned> outerRows;
    for (unsigned dim : dims.m)
      if (dim != mDim)
        outerRows.push_back(dim);
    forEachIndex(
        b, to_vector(at), outerRows,
        [&](OpBuilder &ob, SmallVector<Value> rowAt) {
          Value fullRows = roundDown(ob, sizes[mDim], shape.packedRows);
          forLoop(ob, constant(ob, 0), fullRows, shape.packedRows,
                  [&](OpBuilder &fb, Value m0) {
                    rowAt[mDim] = m0;
                    emitOuterProducts(fb, buffer, rowAt, k0, depth,
                                      shape.packedRows);
                  });
          forLoop(ob, fullRows, sizes[mDim], 1, [&](OpBuilder &fb, Value m) {
            rowAt[mDim] = m;
            emitOuterProducts(fb, buffer, rowAt, k0, depth, 1);
          });
        });
  }

  /// C[m0 .. m0+rows, n0 .. n0+panel] += A[.., k0 .. k0+depth] x buffer.
  void emitOuterProducts(OpBuilder &b, Value buffer, ArrayRef<Value> at,
                         Value k0, Value depth, int64_t rows) {
    int64_t vectors = shape.packedVectors;
    SmallVector<SmallVector<Value>> wheres;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t v = 0; v < vectors; ++v)
        wheres.push_back(indices(b, cMap, at, i, v * shape.lanes, Value()));
    SmallVector<Value> init =
        loadOutputs(b, vectorType, wheres, firstAccumulation(b, at, k0));
    auto loop = scf::ForOp::create(
        b, loc, constant(b, 0), depth, constant(b, 1), init,
        [&](OpBuilder &nb, Location, Value kk, ValueRange acc) {
          Value k = arith::AddIOp::create(nb, loc, k0, kk);
          SmallVector<Value> panelVectors;
          for (int64_t v = 0; v < vectors; ++v)
            panelVectors.push_back(vector::LoadOp::create(
                nb, loc, vectorType, buffer,
                ValueRange{kk, constant(nb, v * shape.lanes)}));
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i) {
            Value x = memref::LoadOp::create(nb, loc, a,
                                             indices(nb, aMap, at, i, 0, k));
            Value broadcast =
                vector::BroadcastOp::create(nb, loc, vectorType, x);
            for (int64_t v = 0; v < vectors; ++v)
              next.push_back(vector::FMAOp::create(
                  nb, loc, broadcast, panelVectors[v], acc[i * vectors + v]));
          }
          scf::YieldOp::create(nb, loc, next);
        });
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t v = 0; v < vectors; ++v)
        vector::StoreOp::create(
            b, loc, loop.getResult(i * vectors + v), c,
            indices(b, cMap, at, i, v * shape.lanes, Value()));
  }

  /// Columns [nBegin, N) of a column contraction, which fill no panel:
  /// scalar dot products, in parallel over the batch dimensions and rows.
  void emitScalarColumns(OpBuilder &b, Value nBegin) {
    SmallVector<unsigned> parallelDims(dims.batch.begin(), dims.batch.end());
    parallelDims.push_back(mDim);
    SmallVector<unsigned> loopDims;
    for (unsigned dim : dims.m)
      if (dim != mDim)
        loopDims.push_back(dim);
    parallelOver(b, parallelDims, Value(),
                 [&](OpBuilder &pb, SmallVector<Value> at, Value) {
                   forEachIndex(pb, at, loopDims,
                                [&](OpBuilder &lb, SmallVector<Value> rowAt) {
                                  forLoop(lb, nBegin, sizes[nDim], 1,
                                          [&](OpBuilder &nb, Value n) {
                                            rowAt[nDim] = n;
                                            forEachIndex(
                                                nb, rowAt, outerReductions,
                                                [&](OpBuilder &rb,
                                                    SmallVector<Value> where) {
                                                  emitScalarDot(rb, where);
                                                });
                                          });
                                });
                 });
  }

  /// C[at] += sum over k of A[at, k] * W[at, k].
  void emitScalarDot(OpBuilder &b, ArrayRef<Value> at) {
    SmallVector<Value> where = indices(b, cMap, at, 0, 0, Value());
    Value old =
        loadOutputs(b, f32, {where}, firstAccumulation(b, at, Value()))[0];
    auto loop = scf::ForOp::create(
        b, loc, constant(b, 0), sizes[dims.k], constant(b, 1), ValueRange{old},
        [&](OpBuilder &kb, Location, Value k, ValueRange acc) {
          Value x = memref::LoadOp::create(kb, loc, a,
                                           indices(kb, aMap, at, 0, 0, k));
          Value y = memref::LoadOp::create(kb, loc, w,
                                           indices(kb, wMap, at, 0, 0, k));
          if (y.getType() != f32)
            y = arith::ExtFOp::create(kb, loc, f32, y);
          scf::YieldOp::create(
              kb, loc,
              ValueRange{arith::AddFOp::create(
                  kb, loc, acc[0], arith::MulFOp::create(kb, loc, x, y))});
        });
    memref::StoreOp::create(b, loc, loop.getResult(0), c, where);
  }

  /// `body` inside one scf.parallel over the whole range of each of
  /// `loopDims` (their indices in `at`) and, if `count` is given, over
  /// [0, count) last (that index passed on its own).
  void parallelOver(
      OpBuilder &b, ArrayRef<unsigned> loopDims, Value count,
      function_ref<void(OpBuilder &, SmallVector<Value>, Value)> body) {
    SmallVector<Value> lower, upper, steps;
    for (unsigned dim : loopDims)
      upper.push_back(sizes[dim]);
    if (count)
      upper.push_back(count);
    lower.assign(upper.size(), constant(b, 0));
    steps.assign(upper.size(), constant(b, 1));
    scf::ParallelOp::create(b, loc, lower, upper, steps,
                            [&](OpBuilder &pb, Location, ValueRange ivs) {
                              SmallVector<Value> at(op.getNumLoops());
                              for (auto [dim, iv] : llvm::zip(loopDims, ivs))
                                at[dim] = iv;
                              body(pb, at, count ? ivs.back() : Value());
                            });
  }

  /// `body` inside nested loops over the whole range of each of `loopDims`,
  /// with `at` holding their indices.
  void forEachIndex(OpBuilder &b, SmallVector<Value> at,
                    ArrayRef<unsigned> loopDims,
                    function_ref<void(OpBuilder &, SmallVector<Value>)> body) {
    if (loopDims.empty()) {
      body(b, at);
      return;
    }
    forLoop(b, constant(b, 0), sizes[loopDims.front()], 1,
            [&](OpBuilder &fb, Value iv) {
              SmallVector<Value> inner = at;
              inner[loopDims.front()] = iv;
              forEachIndex(fb, inner, loopDims.drop_front(), body);
            });
  }

  /// The dimension blocked in registers: a dynamic one (tokens, key
  /// positions) if there is one, else the largest.
  static unsigned blockedDimension(ArrayRef<unsigned> candidates,
                                   ArrayRef<int64_t> staticSizes) {
    unsigned best = candidates.back();
    for (unsigned dim : candidates) {
      if (ShapedType::isDynamic(staticSizes[dim]))
        return dim;
      if (staticSizes[dim] > staticSizes[best])
        best = dim;
    }
    return best;
  }

  /// Outer m dimensions as loops, then blocks of rows and single rows.
  void emitRows(OpBuilder &b, SmallVector<Value> at, int64_t columns) {
    SmallVector<unsigned> outer;
    for (unsigned dim : dims.m)
      if (dim != mDim)
        outer.push_back(dim);
    emitOuterRows(b, at, outer, columns);
  }

  void emitOuterRows(OpBuilder &b, SmallVector<Value> at,
                     ArrayRef<unsigned> outer, int64_t columns) {
    forEachIndex(b, at, outer, [&](OpBuilder &ob, SmallVector<Value> rowAt) {
      Value fullRows = roundDown(ob, sizes[mDim], shape.rows);
      forLoop(ob, constant(ob, 0), fullRows, shape.rows,
              [&](OpBuilder &fb, Value m0) {
                SmallVector<Value> block = rowAt;
                block[mDim] = m0;
                emitBlock(fb, block, shape.rows, columns);
              });
      forLoop(ob, fullRows, sizes[mDim], 1, [&](OpBuilder &fb, Value m) {
        SmallVector<Value> block = rowAt;
        block[mDim] = m;
        emitBlock(fb, block, 1, columns);
      });
    });
  }

  /// Rows [at[m], +rows) x columns [at[n], +columns): rows * columns vector
  /// accumulators along k, reduced, then the last k mod lanes products.
  void emitBlock(OpBuilder &b, ArrayRef<Value> at, int64_t rows,
                 int64_t columns) {
    auto flags = arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
    Value zeroVector = arith::ConstantOp::create(
        b, loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));
    SmallVector<Value> init(rows * columns, zeroVector);
    auto vectorLoop = scf::ForOp::create(
        b, loc, constant(b, 0), kVectorEnd, constant(b, shape.lanes), init,
        [&](OpBuilder &nb, Location, Value kk, ValueRange acc) {
          SmallVector<Value> rowsA, rowsW;
          for (int64_t i = 0; i < rows; ++i)
            rowsA.push_back(vector::LoadOp::create(
                nb, loc, vectorType, a, indices(nb, aMap, at, i, 0, kk)));
          for (int64_t j = 0; j < columns; ++j) {
            Value loaded = vector::LoadOp::create(
                nb, loc, weightVectorType, w, indices(nb, wMap, at, 0, j, kk));
            if (loaded.getType() != vectorType)
              loaded = arith::ExtFOp::create(nb, loc, vectorType, loaded);
            rowsW.push_back(loaded);
          }
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < columns; ++j)
              next.push_back(vector::FMAOp::create(nb, loc, rowsA[i], rowsW[j],
                                                   acc[i * columns + j]));
          scf::YieldOp::create(nb, loc, next);
        });
    SmallVector<Value> sums;
    for (Value acc : vectorLoop.getResults())
      sums.push_back(vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, acc, flags));
    auto tailLoop = scf::ForOp::create(
        b, loc, kVectorEnd, sizes[dims.k], constant(b, 1), sums,
        [&](OpBuilder &nb, Location, Value kk, ValueRange acc) {
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i) {
            Value x = memref::LoadOp::create(nb, loc, a,
                                             indices(nb, aMap, at, i, 0, kk));
            for (int64_t j = 0; j < columns; ++j) {
              Value weight = memref::LoadOp::create(
                  nb, loc, w, indices(nb, wMap, at, 0, j, kk));
              if (weight.getType() != f32)
                weight = arith::ExtFOp::create(nb, loc, f32, weight);
              next.push_back(arith::AddFOp::create(
                  nb, loc, acc[i * columns + j],
                  arith::MulFOp::create(nb, loc, x, weight)));
            }
          }
          scf::YieldOp::create(nb, loc, next);
        });
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < columns; ++j) {
        SmallVector<Value> where = indices(b, cMap, at, i, j, Value());
        Value sum = tailLoop.getResult(i * columns + j);
        if (!zeroFilled)
          sum = arith::AddFOp::create(
              b, loc, memref::LoadOp::create(b, loc, c, where), sum);
        memref::StoreOp::create(b, loc, sum, c, where);
      }
  }

  /// The operand indices of `map` at loop position `at`, `row` rows and
  /// `column` columns into the block, at reduction index `kk`.
  SmallVector<Value> indices(OpBuilder &b, AffineMap map, ArrayRef<Value> at,
                             int64_t row, int64_t column, Value kk) {
    SmallVector<Value> result;
    for (AffineExpr expr : map.getResults()) {
      unsigned dim = cast<AffineDimExpr>(expr).getPosition();
      if (dim == dims.k)
        result.push_back(kk);
      else if (dim == mDim)
        result.push_back(offset(b, at[dim], row));
      else if (dim == nDim)
        result.push_back(offset(b, at[dim], column));
      else
        result.push_back(at[dim]);
    }
    return result;
  }

  void forLoop(OpBuilder &b, Value from, Value to, int64_t step,
               function_ref<void(OpBuilder &, Value)> body) {
    scf::ForOp::create(b, loc, from, to, constant(b, step), ValueRange{},
                       [&](OpBuilder &fb, Location, Value iv, ValueRange) {
                         body(fb, iv);
                         scf::YieldOp::create(fb, loc);
                       });
  }

  Value roundDown(OpBuilder &b, Value value, int64_t block) {
    Value blockValue = constant(b, block);
    return arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, value, blockValue), blockValue);
  }

  Value constant(OpBuilder &b, int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }

  Value offset(OpBuilder &b, Value base, int64_t delta) {
    if (delta == 0)
      return base;
    return arith::AddIOp::create(b, loc, base, constant(b, delta));
  }

  linalg::LinalgOp op;
  Location loc;
  matc::RowContraction dims;
  KernelShape shape;
  bool columnContraction;
  /// A column contraction's reductions other than k.
  SmallVector<unsigned> outerReductions;
  /// C was zero-filled just before the op (eraseZeroFill).
  bool zeroFilled = false;
  Value a, w, c;
  AffineMap aMap, wMap, cMap;
  unsigned mDim, nDim;
  Type f32;
  VectorType vectorType, weightVectorType;
  SmallVector<Value> sizes;
  Value kVectorEnd;
};

struct VectorizeMatmulsPass
    : matc::cpu::impl::VectorizeMatmulsBase<VectorizeMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (packedRows < 0 ||
        (packedRows > 0 && (packedVectors < 1 || packedDepth < 1))) {
      getOperation()->emitError()
          << "matc-vectorize-matmuls: packed-rows must be 0 or more, and "
             "with packed rows packed-vectors and packed-depth positive, got "
          << static_cast<int64_t>(packedRows) << ", "
          << static_cast<int64_t>(packedVectors) << ", "
          << static_cast<int64_t>(packedDepth);
      return signalPassFailure();
    }
    if (lanes < 1 || rows < 1 || columns < 1) {
      getOperation()->emitError()
          << "matc-vectorize-matmuls: lanes, rows and columns must be "
             "positive, got "
          << static_cast<int64_t>(lanes) << ", " << static_cast<int64_t>(rows)
          << ", " << static_cast<int64_t>(columns);
      return signalPassFailure();
    }
    KernelShape shape{lanes,      rows,          columns,
                      packedRows, packedVectors, packedDepth};
    SmallVector<linalg::LinalgOp> found;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (matc::matchRowContraction(op) ||
          (packedRows > 0 && matc::matchColumnContraction(op)))
        found.push_back(op);
    });
    for (linalg::LinalgOp op : found) {
      if (std::optional<matc::RowContraction> dims =
              matc::matchRowContraction(op))
        ContractionLowering(op, *dims, shape).emit();
      else
        ContractionLowering(op, *matc::matchColumnContraction(op), shape)
            .emit();
    }
  }
};

} // namespace

//===- VectorizeMatmuls.cpp - register-blocked vector matmul loops --------===//
//
// C[m, n] += sum_k A[m, k] * B[n, k] with B a weight stored [out, in]. A
// block of MB rows x NB columns keeps MB*NB vector accumulators along k:
// per 16 values of k it loads MB + NB vectors for MB*NB fused multiply-adds,
// where the plain dot-product loop loads 2 vectors per multiply-add.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace matc::cpu {
#define GEN_PASS_DEF_VECTORIZEMATMULS
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

/// The kernel's shape, from the pass options (CpuTarget.h chooses them).
struct KernelShape {
  int64_t lanes, rows, columns;
};

/// Rank-2 memref whose rows are contiguous (unit stride along k).
bool hasUnitInnerStride(Value memref) {
  auto type = dyn_cast<MemRefType>(memref.getType());
  if (!type || type.getRank() != 2)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides[1] == 1;
}

/// `value` is `arg` itself or `arith.extf arg` (a bf16 weight widened).
bool isArgumentOrItsExtension(Value value, BlockArgument arg) {
  if (value == arg)
    return true;
  auto ext = value.getDefiningOp<arith::ExtFOp>();
  return ext && ext.getIn() == arg;
}

/// The body is exactly `yield out + ext?(in0) * ext?(in1)`, the add and the
/// multiply in either operand order, and nothing else: counting ops would
/// also accept look-alikes such as `(in0 + out) * in1`, `in0 * in1 + in0`
/// or `in0 * in0 + out`.
bool isMultiplyAccumulateBody(Block &body) {
  if (body.getNumArguments() != 3)
    return false;
  BlockArgument in0 = body.getArgument(0), in1 = body.getArgument(1),
                out = body.getArgument(2);
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != &body)
    return false;
  Value product;
  if (add.getLhs() == out)
    product = add.getRhs();
  else if (add.getRhs() == out)
    product = add.getLhs();
  else
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || mul->getBlock() != &body)
    return false;
  Value lhs = mul.getLhs(), rhs = mul.getRhs();
  if (!(isArgumentOrItsExtension(lhs, in0) && isArgumentOrItsExtension(rhs, in1)) &&
      !(isArgumentOrItsExtension(lhs, in1) && isArgumentOrItsExtension(rhs, in0)))
    return false;
  // add, mul, their extensions and the yield: nothing else computes.
  size_t ops = 3 + (lhs.getDefiningOp() ? 1 : 0) + (rhs.getDefiningOp() ? 1 : 0);
  return body.getOperations().size() == ops;
}

/// `outs[m, n] += ins0[m, k] * ins1[n, k]` on buffers, with f32 activations
/// and output and f32 or bf16 weights: a linalg.generic or a named
/// linalg.matmul with these indexing maps. Recognized as a contraction by
/// linalg's interface first, then by its exact maps and body.
bool isMatmulTransposedB(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      !linalg::isaContractionOpInterface(op))
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::parallel ||
      iterators[2] != utils::IteratorType::reduction)
    return false;
  MLIRContext *context = op.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  auto expected = AffineMap::inferFromExprList(
      ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {n, k}, {m, n}}, context);
  if (op.getIndexingMapsArray() != ArrayRef<AffineMap>(expected))
    return false;
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1],
        c = op.getDpsInits()[0];
  auto elementType = [](Value v) {
    return cast<MemRefType>(v.getType()).getElementType();
  };
  if (!elementType(a).isF32() || !elementType(c).isF32() ||
      !(elementType(b).isF32() || elementType(b).isBF16()))
    return false;
  return isMultiplyAccumulateBody(*op.getBlock()) && hasUnitInnerStride(a) &&
         hasUnitInnerStride(b) && isa<MemRefType>(c.getType());
}

class MatmulKernelBuilder {
public:
  MatmulKernelBuilder(OpBuilder &b, Location loc, Value a, Value w, Value c,
                      int64_t laneCount)
      : b(b), loc(loc), a(a), w(w), c(c), f32(b.getF32Type()),
        laneCount(laneCount), vectorType(VectorType::get({laneCount}, f32)),
        weightVectorType(VectorType::get(
            {laneCount}, cast<MemRefType>(w.getType()).getElementType())) {
    k = memref::DimOp::create(b, loc, a, 1);
    Value lanes = constant(laneCount);
    kVectorEnd = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, k, lanes), lanes);
  }

  /// Rows [m0, m0+rows) x columns [n0, n0+columns).
  void emitBlock(Value m0, Value n0, int64_t rows, int64_t columns) {
    auto flags = arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
    Value zeroVector = arith::ConstantOp::create(
        b, loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));
    SmallVector<Value> init(rows * columns, zeroVector);
    auto vectorLoop = scf::ForOp::create(
        b, loc, constant(0), kVectorEnd, constant(laneCount), init,
        [&](OpBuilder &nb, Location nl, Value kk, ValueRange acc) {
          SmallVector<Value> rowsA, rowsW;
          for (int64_t i = 0; i < rows; ++i)
            rowsA.push_back(vector::LoadOp::create(
                nb, nl, vectorType, a, ValueRange{offset(nb, m0, i), kk}));
          for (int64_t j = 0; j < columns; ++j) {
            Value loaded = vector::LoadOp::create(
                nb, nl, weightVectorType, w, ValueRange{offset(nb, n0, j), kk});
            if (loaded.getType() != vectorType)
              loaded = arith::ExtFOp::create(nb, nl, vectorType, loaded);
            rowsW.push_back(loaded);
          }
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < columns; ++j)
              next.push_back(vector::FMAOp::create(nb, nl, rowsA[i], rowsW[j],
                                                   acc[i * columns + j]));
          scf::YieldOp::create(nb, nl, next);
        });
    SmallVector<Value> sums;
    for (Value acc : vectorLoop.getResults())
      sums.push_back(vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, acc, flags));
    auto tailLoop = scf::ForOp::create(
        b, loc, kVectorEnd, k, constant(1), sums,
        [&](OpBuilder &nb, Location nl, Value kk, ValueRange acc) {
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i) {
            Value x = memref::LoadOp::create(nb, nl, a,
                                             ValueRange{offset(nb, m0, i), kk});
            for (int64_t j = 0; j < columns; ++j) {
              Value weight = memref::LoadOp::create(
                  nb, nl, w, ValueRange{offset(nb, n0, j), kk});
              if (weight.getType() != f32)
                weight = arith::ExtFOp::create(nb, nl, f32, weight);
              next.push_back(arith::AddFOp::create(
                  nb, nl, acc[i * columns + j],
                  arith::MulFOp::create(nb, nl, x, weight)));
            }
          }
          scf::YieldOp::create(nb, nl, next);
        });
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < columns; ++j) {
        SmallVector<Value> at = {offset(b, m0, i), offset(b, n0, j)};
        Value old = memref::LoadOp::create(b, loc, c, at);
        Value sum = arith::AddFOp::create(b, loc, old,
                                          tailLoop.getResult(i * columns + j));
        memref::StoreOp::create(b, loc, sum, c, at);
      }
  }

  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }

private:
  Value offset(OpBuilder &builder, Value base, int64_t delta) {
    if (delta == 0)
      return base;
    return arith::AddIOp::create(
        builder, loc, base, arith::ConstantIndexOp::create(builder, loc, delta));
  }

  OpBuilder &b;
  Location loc;
  Value a, w, c;
  Type f32;
  int64_t laneCount;
  VectorType vectorType, weightVectorType;
  Value k, kVectorEnd;
};

/// Blocks of columns in parallel; in each, full row blocks then single rows.
void lowerMatmul(linalg::LinalgOp op, KernelShape shape) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value a = op.getDpsInputs()[0], w = op.getDpsInputs()[1],
        c = op.getDpsInits()[0];
  MatmulKernelBuilder kernel(b, loc, a, w, c, shape.lanes);
  Value rows = memref::DimOp::create(b, loc, a, 0);
  Value columns = memref::DimOp::create(b, loc, w, 0);
  Value rowBlock = kernel.constant(shape.rows),
        columnBlock = kernel.constant(shape.columns),
        zero = kernel.constant(0), one = kernel.constant(1);
  auto roundDown = [&](Value value, Value block) -> Value {
    return arith::MulIOp::create(b, loc,
                                 arith::DivUIOp::create(b, loc, value, block),
                                 block);
  };
  Value fullColumns = roundDown(columns, columnBlock),
        fullRows = roundDown(rows, rowBlock);
  scf::ParallelOp::create(
      b, loc, ValueRange{zero}, ValueRange{fullColumns}, ValueRange{columnBlock},
      [&](OpBuilder &pb, Location pl, ValueRange n0) {
        scf::ForOp::create(pb, pl, zero, fullRows, rowBlock, ValueRange{},
                           [&](OpBuilder &fb, Location fl, Value m0, ValueRange) {
                             OpBuilder::InsertionGuard guard(b);
                             b.setInsertionPoint(fb.getInsertionBlock(),
                                                 fb.getInsertionPoint());
                             kernel.emitBlock(m0, n0[0], shape.rows, shape.columns);
                             scf::YieldOp::create(fb, fl);
                           });
        scf::ForOp::create(pb, pl, fullRows, rows, one, ValueRange{},
                           [&](OpBuilder &fb, Location fl, Value m, ValueRange) {
                             OpBuilder::InsertionGuard guard(b);
                             b.setInsertionPoint(fb.getInsertionBlock(),
                                                 fb.getInsertionPoint());
                             kernel.emitBlock(m, n0[0], 1, shape.columns);
                             scf::YieldOp::create(fb, fl);
                           });
      });
  scf::ForOp::create(
      b, loc, fullColumns, columns, one, ValueRange{},
      [&](OpBuilder &ob, Location ol, Value n, ValueRange) {
        scf::ForOp::create(ob, ol, zero, rows, one, ValueRange{},
                           [&](OpBuilder &fb, Location fl, Value m, ValueRange) {
                             OpBuilder::InsertionGuard guard(b);
                             b.setInsertionPoint(fb.getInsertionBlock(),
                                                 fb.getInsertionPoint());
                             kernel.emitBlock(m, n, 1, 1);
                             scf::YieldOp::create(fb, fl);
                           });
        scf::YieldOp::create(ob, ol);
      });
  op->erase();
}

struct VectorizeMatmulsPass
    : matc::cpu::impl::VectorizeMatmulsBase<VectorizeMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (lanes < 1 || rows < 1 || columns < 1) {
      getOperation()->emitError()
          << "matc-vectorize-matmuls: lanes, rows and columns must be "
             "positive, got "
          << static_cast<int64_t>(lanes) << ", " << static_cast<int64_t>(rows)
          << ", " << static_cast<int64_t>(columns);
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> matmuls;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (isMatmulTransposedB(op))
        matmuls.push_back(op);
    });
    for (linalg::LinalgOp op : matmuls)
      lowerMatmul(op, {lanes, rows, columns});
  }
};

} // namespace

//===- VectorizeMatmuls.cpp - register-blocked vector matmul loops --------===//
//
// C[m, n] += sum_k A[m, k] * B[n, k] with B a weight stored [out, in]. A
// block of MB rows x NB columns keeps MB*NB vector accumulators along k:
// per 16 values of k it loads MB + NB vectors for MB*NB fused multiply-adds,
// where the plain dot-product loop loads 2 vectors per multiply-add.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"
#include "matc/Passes/BackendCommon.h"

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
      if (matc::isMatmulTransposedB(op))
        matmuls.push_back(op);
    });
    for (linalg::LinalgOp op : matmuls)
      lowerMatmul(op, {lanes, rows, columns});
  }
};

} // namespace

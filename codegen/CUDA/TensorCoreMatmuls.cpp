//===- TensorCoreMatmuls.cpp - projections on bf16 mma.sync ----------------===//
#include "CUDA/Passes.h"
#include "matc/Passes/BackendCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AffineMap.h"

namespace matc::cuda {
#define GEN_PASS_DEF_TENSORCOREMATMULS
#include "CUDA/Passes.h.inc"
} // namespace matc::cuda

using namespace mlir;

namespace {

constexpr int64_t kTileM = 16, kTileN = 8, kTileK = 16;

/// out[m, n] += ext?(a[m, k]) * ext?(w[n, k]) (the back ends' shared
/// recognizer), with N a static multiple of 8 and K one of 16.
bool isProjection(linalg::LinalgOp op) {
  if (!matc::isMatmulTransposedB(op))
    return false;
  auto w = cast<MemRefType>(op.getDpsInputs()[1].getType());
  return !ShapedType::isDynamic(w.getDimSize(0)) &&
         w.getDimSize(0) % kTileN == 0 &&
         !ShapedType::isDynamic(w.getDimSize(1)) &&
         w.getDimSize(1) % kTileK == 0;
}

struct Kernel {
  OpBuilder &b;
  Location loc;
  Value index(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  /// Two adjacent elements of `buffer` along its last index, rounded to
  /// bf16 and packed into an i32, the first in the low half.
  Value pair(Value buffer, Value row, Value column) {
    Type bf16 = b.getBF16Type(), i16 = b.getI16Type(), i32 = b.getI32Type();
    auto half = [&](Value col) {
      Value element =
          memref::LoadOp::create(b, loc, buffer, ValueRange{row, col});
      if (!element.getType().isBF16())
        element = arith::TruncFOp::create(b, loc, bf16, element);
      Value bits = arith::BitcastOp::create(b, loc, i16, element);
      return arith::ExtUIOp::create(b, loc, i32, bits).getResult();
    };
    Value low = half(column), high = half(add(column, index(1)));
    Value shift = arith::ConstantIntOp::create(b, loc, i32, 16);
    return arith::OrIOp::create(
        b, loc, low, arith::ShLIOp::create(b, loc, high, shift));
  }
};

void lowerProjection(linalg::LinalgOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value a = op.getDpsInputs()[0], w = op.getDpsInputs()[1],
        out = op.getDpsInits()[0];
  int64_t n = cast<MemRefType>(w.getType()).getDimSize(0);
  int64_t k = cast<MemRefType>(w.getType()).getDimSize(1);
  Kernel kb{b, loc};
  Value rows = memref::DimOp::create(b, loc, a, kb.index(0));
  Value tilesM = arith::CeilDivUIOp::create(b, loc, rows, kb.index(kTileM));
  Value one = kb.index(1);
  auto launch = gpu::LaunchOp::create(b, loc, tilesM, kb.index(n / kTileN),
                                      one, kb.index(32), one, one);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value lane = launch.getThreadIds().x;
  Value group = arith::DivUIOp::create(b, loc, lane, kb.index(4));
  Value inGroup = arith::RemUIOp::create(b, loc, lane, kb.index(4));
  Value m0 = arith::MulIOp::create(b, loc, launch.getBlockIds().x,
                                   kb.index(kTileM));
  Value n0 = arith::MulIOp::create(b, loc, launch.getBlockIds().y,
                                   kb.index(kTileN));
  Value lastRow = arith::SubIOp::create(b, loc, rows, one);
  Value row0 = kb.add(m0, group), row1 = kb.add(row0, kb.index(8));
  Value valid0 =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row0, rows);
  Value valid1 =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row1, rows);
  // Rows past M read the last row (in bounds) and are not stored.
  Value safe0 = arith::MinUIOp::create(b, loc, row0, lastRow);
  Value safe1 = arith::MinUIOp::create(b, loc, row1, lastRow);
  Value column = arith::MulIOp::create(b, loc, inGroup, kb.index(2));
  Value outColumn = kb.add(n0, column);
  Value outColumn1 = kb.add(outColumn, one);
  Value weightRow = kb.add(n0, group);
  SmallVector<Value> init = {
      memref::LoadOp::create(b, loc, out, ValueRange{safe0, outColumn}),
      memref::LoadOp::create(b, loc, out, ValueRange{safe0, outColumn1}),
      memref::LoadOp::create(b, loc, out, ValueRange{safe1, outColumn}),
      memref::LoadOp::create(b, loc, out, ValueRange{safe1, outColumn1})};
  Type f32 = b.getF32Type();
  auto fragmentType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), {f32, f32, f32, f32});
  auto loop = scf::ForOp::create(
      b, loc, kb.index(0), kb.index(k), kb.index(kTileK), init,
      [&](OpBuilder &lb, Location loc, Value k0, ValueRange acc) {
        Kernel kl{lb, loc};
        Value c0 = kl.add(k0, column), c8 = kl.add(c0, kl.index(8));
        SmallVector<Value> fragA = {kl.pair(a, safe0, c0), kl.pair(a, safe1, c0),
                                    kl.pair(a, safe0, c8), kl.pair(a, safe1, c8)};
        SmallVector<Value> fragB = {kl.pair(w, weightRow, c0),
                                    kl.pair(w, weightRow, c8)};
        Value d = NVVM::MmaOp::create(
            lb, loc, fragmentType, fragA, fragB, acc, {16, 8, 16},
            std::nullopt, std::nullopt,
            std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                          NVVM::MMATypes::bf16},
            std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                           NVVM::MMALayout::col});
        SmallVector<Value> next;
        for (int64_t i = 0; i < 4; ++i)
          next.push_back(LLVM::ExtractValueOp::create(lb, loc, d, i));
        scf::YieldOp::create(lb, loc, next);
      });
  scf::IfOp::create(b, loc, valid0, [&](OpBuilder &ib, Location loc) {
    memref::StoreOp::create(ib, loc, loop.getResult(0), out,
                            ValueRange{row0, outColumn});
    memref::StoreOp::create(ib, loc, loop.getResult(1), out,
                            ValueRange{row0, outColumn1});
    scf::YieldOp::create(ib, loc);
  });
  scf::IfOp::create(b, loc, valid1, [&](OpBuilder &ib, Location loc) {
    memref::StoreOp::create(ib, loc, loop.getResult(2), out,
                            ValueRange{row1, outColumn});
    memref::StoreOp::create(ib, loc, loop.getResult(3), out,
                            ValueRange{row1, outColumn1});
    scf::YieldOp::create(ib, loc);
  });
  gpu::TerminatorOp::create(b, loc);
  op->erase();
}

struct TensorCoreMatmulsPass
    : matc::cuda::impl::TensorCoreMatmulsBase<TensorCoreMatmulsPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> projections;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (isProjection(op))
        projections.push_back(op);
    });
    for (linalg::LinalgOp op : projections)
      lowerProjection(op);
  }
};

} // namespace

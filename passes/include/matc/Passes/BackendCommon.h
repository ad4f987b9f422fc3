//===- BackendCommon.h - what every back end does the same way -*- C++ -*-===//
//
// Pieces the CPU and GPU back ends share after the middle: adding upstream
// passes by their mlir-opt names, bufferization, and recognizing the
// projections (a weight stored [out, in]) on buffers.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_PASSES_BACKENDCOMMON_H
#define MATC_PASSES_BACKENDCOMMON_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/PassManager.h"

namespace matc {

/// Upstream passes by their mlir-opt names, so a stage reads the same in C++,
/// in lit tests and on the command line. A typo is a fatal internal error.
void addUpstreamPasses(mlir::OpPassManager &pm, llvm::StringRef pipeline);

/// Tensors -> buffers. Layers are functions (matformer-outline-layers), so
/// bufferization crosses function boundaries; their memref arguments keep
/// the identity layout, which the matmul kernels need (unit stride along K).
void addBufferization(mlir::OpPassManager &pm);

/// `outs[m, n] += ext?(ins0[m, k]) * ext?(ins1[n, k])` on buffers, with f32
/// activations and output, f32 or bf16 weights and unit-stride rows: a
/// linalg.generic or named linalg.matmul recognized by linalg's contraction
/// interface, then by its exact maps and body (look-alikes such as
/// `(a + c) * b` or `a * b + a` are not).
bool isMatmulTransposedB(mlir::linalg::LinalgOp op);

/// The loop dimensions of a row contraction: a multiply-accumulate of the
/// same types as above over exactly one reduction dimension `k` that is the
/// innermost (unit-stride) dimension of both inputs, with projected
/// permutation maps. Every other dimension is `batch` (in both inputs),
/// `m` (only in the first) or `n` (only in the second); there is at least
/// one `m` and one `n`. A projection is the case batch = {}, m = {0},
/// n = {1}, k = 2; attention's scores (q . k over head_dim) and weighted
/// sum of V (over key positions, innermost in the V cache) are others.
struct RowContraction {
  llvm::SmallVector<unsigned> batch, m, n;
  unsigned k = 0;
};
std::optional<RowContraction> matchRowContraction(mlir::linalg::LinalgOp op);

/// The loop dimensions of a column contraction: `outs[m, n] += ext?(ins0[m,
/// k] or ins0[k, m]) * ext?(ins1[k, n])`, the same types as above, with the
/// second input and the output contiguous along n. These are the layouts of
/// the backward's matmuls: dX = dY x W and dW = dY^T x X.
struct ColumnContraction {
  unsigned m = 0, n = 0, k = 0;
};
std::optional<ColumnContraction>
matchColumnContraction(mlir::linalg::LinalgOp op);

} // namespace matc

#endif

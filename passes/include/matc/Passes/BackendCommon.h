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

/// The shape of a projection, on tensors or buffers: two inputs and one
/// init indexed [m, k], [n, k] and [m, n], m and n parallel, k a reduction,
/// and a contraction by linalg's interface. Says nothing of element types
/// or strides (isMatmulTransposedB does, on buffers).
bool isProjection(mlir::linalg::LinalgOp op);

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

/// The loop dimensions of a column contraction: `outs[.., n] += ext?(a) *
/// ext?(b)` of the same types as above, where `b` (either input) and the
/// output are contiguous along their innermost dimension `n`, and `a` (f32)
/// does not hold n. These are the backward's layouts: dX = dY x W and dW =
/// dY^T x X (2-D), and attention's dQ = dS K, dK = dS^T Q, dV = P^T dO and
/// dP = dO V^T (heads as batch, grouped query heads and positions as m).
/// Every other dimension is `batch` (in a, b and the output), `m` (in a and
/// the output) or a reduction (in a and b); `k` is one reduction (a dynamic
/// one if there is one, else the largest), `reductions` the others. There
/// is at least one m.
struct ColumnContraction {
  llvm::SmallVector<unsigned> batch, m, reductions;
  unsigned n = 0, k = 0;
  /// Which input is `a` (0 or 1); the other is `b`.
  unsigned aInput = 0;
};
std::optional<ColumnContraction>
matchColumnContraction(mlir::linalg::LinalgOp op);

} // namespace matc

#endif

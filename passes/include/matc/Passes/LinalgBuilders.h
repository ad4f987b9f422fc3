//===- LinalgBuilders.h - small linalg building blocks ----------*- C++ -*-===//
//
// The pieces the matformer lowering (and the CPU back end's attention)
// assembles models from: matmuls against [out, in] weights, elementwise maps
// and row reductions, all as linalg.generic on tensors with a dynamic token
// dimension.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_PASSES_LINALGBUILDERS_H
#define MATC_PASSES_LINALGBUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace matc {

/// Indexing maps from one list of dimension expressions per operand.
llvm::SmallVector<mlir::AffineMap>
indexingMaps(mlir::MLIRContext *context,
             llvm::ArrayRef<llvm::ArrayRef<mlir::AffineExpr>> operands);

/// Size `dim` of a ranked tensor, as a constant when static.
mlir::OpFoldResult dimSize(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value tensor, int64_t dim);

/// A tensor of `sizes` filled with `value`.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         llvm::ArrayRef<mlir::OpFoldResult> sizes,
                         mlir::Type elementType, double value);

/// Converts a scalar to f32 (weights may be stored as bf16 or f16).
mlir::Value toF32(mlir::OpBuilder &b, mlir::Location loc, mlir::Value scalar);

/// A contraction `init += inputs[0] * inputs[1]` summed over the reduction
/// dimensions, in f32. Reassociation lets LLVM vectorize the reduction; the
/// sum's rounding then differs from a sequential sum only at f32 epsilon.
mlir::Value multiplyAccumulate(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::ValueRange inputs, mlir::Value init,
                               llvm::ArrayRef<mlir::AffineMap> maps,
                               llvm::ArrayRef<mlir::utils::IteratorType> iterators);

/// `a [M, K] x w[N, K]^T -> [M, N]` in f32: the shape of every projection,
/// since checkpoints store weights [out, in]. A linalg.generic that
/// linalg::isaContractionOpInterface recognizes (maps (m, k), (n, k), (m, n);
/// body out + ext?(a) * ext?(w)), which a back end matches by interface. It
/// stays generic rather than a named linalg.matmul to keep the fastmath
/// flags (and because LLVM 22's linalg-specialize-generic-ops turns this
/// form into a plain linalg.matmul that drops the transpose of B).
mlir::Value matmulTransposedB(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value a, mlir::Value w);

} // namespace matc

#endif

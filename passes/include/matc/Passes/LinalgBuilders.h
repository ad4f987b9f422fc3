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

/// An f32 tensor shaped like `like` (a ranked tensor) whose element is
/// `body(inputs' elements...)`; every input has `like`'s shape.
mlir::Value mapElements(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value like,
    mlir::ValueRange inputs,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body);

/// The f32 scalar `value`.
mlir::Value constantF32(mlir::OpBuilder &b, mlir::Location loc, double value);

/// The maximum of each row of a [rows, columns] f32 tensor: [rows].
mlir::Value rowMax(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// log(sum_j exp(x[t, j])) per row, stable (the row maximum is subtracted
/// before exponentiating): [rows].
mlir::Value rowLogSumExp(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value x);

/// logsumexp(logits[t]) - logits[t, targets[t]] per row: [rows].
mlir::Value rowCrossEntropy(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value logits, mlir::Value targets);

/// The sum of every element of an f32 tensor, as a tensor<f32>.
mlir::Value sumAll(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// tensor<f32> `x` times the f32 scalar `factor`.
mlir::Value scaleScalarTensor(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value x, mlir::Value factor);

/// 1 / size as an f32 scalar.
mlir::Value reciprocalOfSize(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::OpFoldResult size);

/// A linalg.generic with one f32 result of `resultSizes`, indexed by
/// `resultExprs` over loops of `iterators`: every result element starts at
/// `init` and becomes `body(inputs' elements..., accumulator)` at each loop
/// point. Maps are given as dimension expressions per input.
mlir::Value buildGeneric(
    mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
    llvm::ArrayRef<llvm::SmallVector<mlir::AffineExpr>> inputExprs,
    llvm::ArrayRef<mlir::AffineExpr> resultExprs,
    llvm::ArrayRef<mlir::OpFoldResult> resultSizes,
    llvm::ArrayRef<mlir::utils::IteratorType> iterators, double init,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body);

/// `a [M, K] x b [K, N] -> [M, N]` in f32.
mlir::Value matmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a,
                   mlir::Value w);

/// `a [K, M]^T x b [K, N] -> [M, N]` in f32: a weight's gradient from the
/// gradient of its outputs and its inputs.
mlir::Value matmulTransposedA(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value a, mlir::Value w);

/// `a + b`, elementwise, for f32 tensors of one shape.
mlir::Value addTensors(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a,
                       mlir::Value c);

} // namespace matc

#endif

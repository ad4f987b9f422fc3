//===- OpDerivatives.h - the larger derivatives, one file each --*- C++ -*-===//
#ifndef MATC_PASSES_OPDERIVATIVES_H
#define MATC_PASSES_OPDERIVATIVES_H

#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/Builders.h"

namespace matc {

/// d input, d gate, d up, d down of a nested FFN at its width (static or
/// run time), given d result. The weights' gradients are whole tensors that
/// are zero outside the prefix the width uses.
void buildNestedFfnGradients(mlir::OpBuilder &b, matformer::NestedFfnOp op,
                             mlir::Value resultGradient,
                             llvm::SmallVectorImpl<mlir::Value> &gradients);

/// d input, d wq, d wk, d wv, d wo of a cache-less attention, given d
/// result; q, k, v and the core are recomputed from the op's operands.
mlir::LogicalResult
buildAttentionGradients(mlir::OpBuilder &b, matformer::AttentionOp op,
                        mlir::Value resultGradient,
                        llvm::SmallVectorImpl<mlir::Value> &gradients);

} // namespace matc

#endif

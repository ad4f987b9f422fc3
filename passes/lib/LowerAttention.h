//===- LowerAttention.h - matformer.attention -> linalg ---------*- C++ -*-===//
#ifndef MATC_PASSES_LOWERATTENTION_H
#define MATC_PASSES_LOWERATTENTION_H

#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/Builders.h"

namespace matc {

/// Builds causal grouped-query attention with RoPE for `op` at the builder's
/// insertion point and returns its [tokens, hidden] result.
mlir::Value lowerAttention(mlir::OpBuilder &b, matformer::AttentionOp op);

} // namespace matc

#endif

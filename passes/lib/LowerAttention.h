//===- LowerAttention.h - matformer.attention -> linalg ---------*- C++ -*-===//
#ifndef MATC_PASSES_LOWERATTENTION_H
#define MATC_PASSES_LOWERATTENTION_H

#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/Builders.h"

namespace matc {

/// Builds causal grouped-query attention with RoPE for `op`, whose operands
/// are now `operands`, at the builder's insertion point and returns its
/// [tokens, hidden] result: projections, RoPE and the cache writes in linalg,
/// the core as one `matformer.causal_attention`.
mlir::Value lowerAttention(mlir::OpBuilder &b, matformer::AttentionOp op,
                           matformer::AttentionOp::Adaptor operands);

/// Splits [T, heads*headDim] into [T, heads, headDim].
mlir::Value splitHeads(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       int64_t heads, int64_t headDim);

/// Rotate-half RoPE on [T, heads, headDim], row t at position start + t;
/// `inverse` rotates by the opposite angle (RoPE's transpose, its backward).
mlir::Value applyRope(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Value start, double theta, bool inverse = false);

} // namespace matc

#endif

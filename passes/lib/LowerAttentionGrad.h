//===- LowerAttentionGrad.h - causal_attention_grad -> linalg ---*- C++ -*-===//
#ifndef MATC_PASSES_LOWERATTENTIONGRAD_H
#define MATC_PASSES_LOWERATTENTIONGRAD_H

#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/Builders.h"

namespace matc {

/// Builds the backward of the attention core for `op`, whose operands are
/// now `operands`, at the builder's insertion point, as linalg on tensors:
/// returns {query_grad [T, heads, d], keys_grad [S, kv_heads, d],
/// values_grad [kv_heads, d, S]}.
llvm::SmallVector<mlir::Value, 3>
lowerCausalAttentionGrad(mlir::OpBuilder &b,
                         matformer::CausalAttentionGradOp op,
                         matformer::CausalAttentionGradOp::Adaptor operands);

} // namespace matc

#endif

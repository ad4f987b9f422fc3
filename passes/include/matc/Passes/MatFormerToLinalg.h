//===- MatFormerToLinalg.h - matformer -> linalg patterns -------*- C++ -*-===//
//
// The lowering of `convert-matformer-to-linalg` as reusable pieces, so a GPU
// back end or a training pipeline can run it inside a conversion of its own
// (with more patterns, or a different target):
//
//   ConversionTarget target(*context);
//   matc::configureMatFormerToLinalgTarget(target);
//   RewritePatternSet patterns(context);
//   matc::populateMatFormerToLinalgPatterns(patterns);
//   if (failed(applyPartialConversion(op, target, std::move(patterns)))) ...
//
// Every matformer model op becomes linalg/tensor/arith/math on tensors
// (bufferization and memref for the KV cache), except the attention core,
// which stays one `matformer.causal_attention` for the back end to lower.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_PASSES_MATFORMERTOLINALG_H
#define MATC_PASSES_MATFORMERTOLINALG_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace matc {

/// Conversion patterns for embed, rms_norm, attention (to projections, RoPE,
/// cache writes and a causal_attention), causal_attention_grad (to linalg,
/// probabilities recomputed), nested_ffn (with a width), lm_head, and
/// decoder_layer (inlined). None needs a type converter.
void populateMatFormerToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// The target those patterns reach: the matformer dialect is illegal except
/// `causal_attention` (the back end's) and the module-level `weight`
/// declarations; the dialects the patterns produce are legal.
void configureMatFormerToLinalgTarget(mlir::ConversionTarget &target);

} // namespace matc

#endif

//===- MatFormerOps.cpp - verifiers and folds of the matformer ops ---------===//
#include "matc/Dialect/MatFormer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace matc::matformer;

/// Prints a shape the way tensor types spell it, `?` for dynamic sizes.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t size) {
    if (ShapedType::isDynamic(size))
      os << "?";
    else
      os << size;
  });
  os << "]";
  return text;
}

/// Two sizes agree unless both are static and differ.
static bool sizesAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Checks that `value` is a tensor of `rank` whose sizes agree with
/// `expected` (kDynamic entries match anything).
static LogicalResult checkShape(Operation *op, Value value, StringRef role,
                                ArrayRef<int64_t> expected) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != static_cast<int64_t>(expected.size()))
    return op->emitOpError() << role << " must have rank " << expected.size()
                             << " " << formatShape(expected) << ", got "
                             << type;
  for (auto [got, want] : llvm::zip(type.getShape(), expected))
    if (!sizesAgree(got, want))
      return op->emitOpError()
             << role << " must have shape " << formatShape(expected)
             << ", got " << formatShape(type.getShape());
  return success();
}

/// Activations are [tokens, features]; returns the feature size.
static FailureOr<int64_t> activationWidth(Operation *op, Value value,
                                          StringRef role) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != 2)
    return op->emitOpError() << role
                             << " must be a rank-2 [tokens, features] tensor, "
                                "got "
                             << type;
  return type.getDimSize(1);
}

//===----------------------------------------------------------------------===//
// GetWeightOp
//===----------------------------------------------------------------------===//

LogicalResult
GetWeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getNameAttr());
  if (!weight)
    return emitOpError() << "'" << getName()
                         << "' does not name a matformer.weight";
  if (weight.getType() != getType())
    return emitOpError() << "type " << getType() << " differs from weight '"
                         << getName() << "' declared as " << weight.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// EmbedOp
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  auto table = getTable().getType();
  if (failed(checkShape(*this, getTable(), "table",
                        {ShapedType::kDynamic, ShapedType::kDynamic})))
    return failure();
  int64_t tokens = getTokens().getType().getDimSize(0);
  if (failed(checkShape(*this, getResult(), "result",
                        {tokens, table.getDimSize(1)})))
    return failure();
  if (getResult().getType().getElementType() != table.getElementType() &&
      !getResult().getType().getElementType().isF32())
    return emitOpError() << "result element type must be f32 or the table's "
                         << table.getElementType();
  return success();
}

//===----------------------------------------------------------------------===//
// RmsNormOp
//===----------------------------------------------------------------------===//

LogicalResult RmsNormOp::verify() {
  FailureOr<int64_t> hidden = activationWidth(*this, getInput(), "input");
  if (failed(hidden))
    return failure();
  if (failed(checkShape(*this, getWeight(), "weight", {*hidden})))
    return failure();
  if (getEpsilon().convertToDouble() <= 0)
    return emitOpError() << "eps must be positive, got "
                         << getEpsilon().convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  FailureOr<int64_t> hidden = activationWidth(*this, getInput(), "input");
  if (failed(hidden))
    return failure();
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(),
          headDim = getHeadDim();
  if (heads % kvHeads != 0)
    return emitOpError() << "num_kv_heads (" << kvHeads
                         << ") must divide num_heads (" << heads << ")";
  if (headDim % 2 != 0)
    return emitOpError() << "head_dim (" << headDim
                         << ") must be even for rotate-half RoPE";
  if (getRopeTheta().convertToDouble() <= 0)
    return emitOpError() << "rope_theta must be positive";
  if (failed(checkShape(*this, getWq(), "q weight", {heads * headDim, *hidden})) ||
      failed(checkShape(*this, getWk(), "k weight", {kvHeads * headDim, *hidden})) ||
      failed(checkShape(*this, getWv(), "v weight", {kvHeads * headDim, *hidden})) ||
      failed(checkShape(*this, getWo(), "o weight", {*hidden, heads * headDim})))
    return failure();
  Value kCache = getKCache(), vCache = getVCache();
  if (!kCache && !vCache && !getStartPos())
    return success();
  if (!kCache || !vCache || !getStartPos())
    return emitOpError() << "kv_cache needs both caches and a start position";
  auto kType = cast<MemRefType>(kCache.getType());
  auto vType = cast<MemRefType>(vCache.getType());
  if (!sizesAgree(kType.getDimSize(1), kvHeads) ||
      !sizesAgree(kType.getDimSize(2), headDim))
    return emitOpError() << "k cache must have shape [max_positions, "
                         << kvHeads << ", " << headDim << "], got "
                         << formatShape(kType.getShape());
  if (!sizesAgree(vType.getDimSize(0), kvHeads) ||
      !sizesAgree(vType.getDimSize(1), headDim))
    return emitOpError() << "v cache must have shape [" << kvHeads << ", "
                         << headDim << ", max_positions], got "
                         << formatShape(vType.getShape());
  if (!sizesAgree(kType.getDimSize(0), vType.getDimSize(2)))
    return emitOpError() << "k and v caches must hold the same number of "
                            "positions, got "
                         << kType.getDimSize(0) << " and " << vType.getDimSize(2);
  return success();
}

void AttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  // Reads earlier positions and appends this call's K/V.
  if (!hasKvCache())
    return;
  for (OpOperand &operand : getOperation()->getOpOperands()) {
    if (operand.get() != getKCache() && operand.get() != getVCache())
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand);
    effects.emplace_back(MemoryEffects::Write::get(), &operand);
  }
}

//===----------------------------------------------------------------------===//
// CausalAttentionOp
//===----------------------------------------------------------------------===//

/// The shape rules of the attention core, shared by causal_attention and its
/// gradient: static heads, kv_heads and head_dim, kv_heads dividing heads,
/// keys [S, kv_heads, head_dim], values [kv_heads, head_dim, S], a positive
/// finite scale.
static LogicalResult verifyAttentionCore(Operation *op, Value queryValue,
                                         Value keysValue, Value valuesValue,
                                         double scale) {
  auto query = cast<RankedTensorType>(queryValue.getType()),
       keys = cast<RankedTensorType>(keysValue.getType()),
       values = cast<RankedTensorType>(valuesValue.getType());
  // Heads and head_dim fix the computation: they must be static.
  int64_t heads = query.getDimSize(1), headDim = query.getDimSize(2),
          kvHeads = keys.getDimSize(1);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(headDim) ||
      ShapedType::isDynamic(kvHeads))
    return op->emitOpError()
           << "heads, kv_heads and head_dim must be static, got query "
           << formatShape(query.getShape()) << " and keys "
           << formatShape(keys.getShape());
  if (heads % kvHeads != 0)
    return op->emitOpError()
           << "kv_heads (" << kvHeads << ") must divide the query's heads ("
           << heads << ")";
  if (failed(checkShape(op, keysValue, "keys",
                        {ShapedType::kDynamic, kvHeads, headDim})) ||
      failed(checkShape(op, valuesValue, "values",
                        {kvHeads, headDim, ShapedType::kDynamic})))
    return failure();
  if (!sizesAgree(keys.getDimSize(0), values.getDimSize(2)))
    return op->emitOpError()
           << "keys and values must hold the same number of "
              "positions, got "
           << keys.getDimSize(0) << " and " << values.getDimSize(2);
  if (!(scale > 0) || !std::isfinite(scale))
    return op->emitOpError()
           << "scale must be positive and finite, got " << scale;
  return success();
}

LogicalResult CausalAttentionOp::verify() {
  return verifyAttentionCore(*this, getQuery(), getKeys(), getValues(),
                             getScale().convertToDouble());
}

//===----------------------------------------------------------------------===//
// CausalAttentionGradOp
//===----------------------------------------------------------------------===//

LogicalResult CausalAttentionGradOp::verify() {
  if (failed(verifyAttentionCore(*this, getQuery(), getKeys(), getValues(),
                                 getScale().convertToDouble())))
    return failure();
  if (getResultGrad().getType() != getQuery().getType())
    return emitOpError() << "result_grad (the gradient of the attention's "
                            "result) must have the query's type "
                         << getQuery().getType() << ", got "
                         << getResultGrad().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// NestedFfnOp
//===----------------------------------------------------------------------===//

int64_t NestedFfnOp::getMaxWidth() {
  return cast<RankedTensorType>(getGate().getType()).getDimSize(0);
}

LogicalResult NestedFfnOp::verify() {
  FailureOr<int64_t> hidden = activationWidth(*this, getInput(), "input");
  if (failed(hidden))
    return failure();
  auto gateType = cast<RankedTensorType>(getGate().getType());
  if (gateType.getRank() != 2 || gateType.isDynamicDim(0))
    return emitOpError() << "gate weight must be a static [d_ff, hidden] "
                            "tensor, got "
                         << gateType;
  int64_t dff = gateType.getDimSize(0);
  if (failed(checkShape(*this, getGate(), "gate weight", {dff, *hidden})) ||
      failed(checkShape(*this, getUp(), "up weight", {dff, *hidden})) ||
      failed(checkShape(*this, getDown(), "down weight", {*hidden, dff})))
    return failure();
  if (auto granularities = getGranularitiesAttr())
    if (granularities.largest() != dff)
      return emitOpError() << "largest granularity ("
                           << granularities.largest()
                           << ") must equal d_ff of the weights (" << dff
                           << ")";
  if (getStaticWidth() && getDynamicWidth())
    return emitOpError() << "has both a static and a dynamic width";
  if (std::optional<uint64_t> width = getStaticWidth())
    if (static_cast<int64_t>(*width) > dff)
      return emitOpError() << "width " << *width
                           << " exceeds d_ff of the weights (" << dff << ")";
  return success();
}

namespace {
/// A run-time width that is a known constant becomes a static width, so
/// the static pipeline specializes it.
struct StaticizeConstantWidth : OpRewritePattern<NestedFfnOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NestedFfnOp op,
                                PatternRewriter &rewriter) const override {
    Value dynamicWidth = op.getDynamicWidth();
    if (!dynamicWidth)
      return failure();
    std::optional<int64_t> width = getConstantIntValue(dynamicWidth);
    if (!width || *width < 0 || *width > op.getMaxWidth())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getDynamicWidthMutable().clear();
      op.setStaticWidth(static_cast<uint64_t>(*width));
    });
    return success();
  }
};
} // namespace

void NestedFfnOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *context) {
  patterns.add<StaticizeConstantWidth>(context);
}

//===----------------------------------------------------------------------===//
// LmHeadOp
//===----------------------------------------------------------------------===//

LogicalResult LmHeadOp::verify() {
  FailureOr<int64_t> hidden = activationWidth(*this, getInput(), "input");
  if (failed(hidden))
    return failure();
  auto weight = getWeight().getType();
  if (failed(checkShape(*this, getWeight(), "weight",
                        {ShapedType::kDynamic, *hidden})))
    return failure();
  int64_t tokens = getInput().getType().getDimSize(0);
  return checkShape(*this, getResult(), "result",
                    {tokens, weight.getDimSize(0)});
}

//===----------------------------------------------------------------------===//
// DecoderLayerOp
//===----------------------------------------------------------------------===//

LogicalResult DecoderLayerOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 ||
      body.getArgument(0).getType() != getInput().getType())
    return emitOpError() << "body must take one argument of type "
                         << getInput().getType() << " (the hidden state)";
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "body must end with matformer.yield";
  if (yield.getValue().getType() != getResult().getType())
    return yield.emitOpError()
           << "yields " << yield.getValue().getType()
           << ", expected the layer's hidden state type "
           << getResult().getType();
  return success();
}

#define GET_OP_CLASSES
#include "matc/Dialect/MatFormerOps.cpp.inc"

//===- ConvertMatFormerToLinalg.cpp - matformer -> linalg on tensors -------===//
#include "LowerAttention.h"
#include "LowerAttentionGrad.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Activations.h"
#include "matc/Passes/LinalgBuilders.h"
#include "matc/Passes/MatFormerToLinalg.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace matc {
#define GEN_PASS_DEF_CONVERTMATFORMERTOLINALG
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;
using matc::dimSize;
using matc::filledTensor;
using matc::matmulTransposedB;
using matc::toF32;
using matc::constantF32;
using matc::activate;

namespace {
using utils::IteratorType;

/// Replaces `op` by `value`, casting when the lowering inferred a more (or
/// less) static shape than the op's result type.
void replaceWithCast(ConversionPatternRewriter &rewriter, Operation *op, Value value) {
  Type type = op->getResult(0).getType();
  if (value.getType() != type)
    value = tensor::CastOp::create(rewriter, op->getLoc(), type, value);
  rewriter.replaceOp(op, value);
}

/// result[t, :] = table[tokens[t], :]
struct LowerEmbed : OpConversionPattern<EmbedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = adaptor.getTable();
    Value init = tensor::EmptyOp::create(
        rewriter, loc,
        {dimSize(rewriter, loc, adaptor.getTokens(), 0), dimSize(rewriter, loc, table, 1)},
        rewriter.getF32Type());
    MLIRContext *context = rewriter.getContext();
    AffineExpr t, h;
    bindDims(context, t, h);
    auto lookup = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ValueRange{adaptor.getTokens()}, ValueRange{init},
        matc::indexingMaps(context, {{t}, {t, h}}),
        {IteratorType::parallel, IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value row = arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          Value column = linalg::IndexOp::create(b, l, 1);
          Value element = tensor::ExtractOp::create(b, l, table, ValueRange{row, column});
          linalg::YieldOp::create(b, l, toF32(b, l, element));
        });
    rewriter.replaceOp(op, lookup.getResult(0));
    return success();
  }
};

/// x * rsqrt(mean(x^2) + eps) * w, in f32.
struct LowerRmsNorm : OpConversionPattern<RmsNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RmsNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value x = adaptor.getInput();
    int64_t hidden = cast<RankedTensorType>(x.getType()).getDimSize(1);
    AffineExpr t, h;
    bindDims(context, t, h);
    Value sumInit = filledTensor(rewriter, loc, {dimSize(rewriter, loc, x, 0)},
                                 rewriter.getF32Type(), 0.0);
    Value sumSquares =
        linalg::GenericOp::create(
            rewriter, loc, sumInit.getType(), ValueRange{x}, ValueRange{sumInit},
            matc::indexingMaps(context, {{t, h}, {t}}),
            {IteratorType::parallel, IteratorType::reduction},
            [](OpBuilder &b, Location l, ValueRange args) {
              // Reassociable, so the back end may vectorize the sum.
              auto flags = arith::FastMathFlags::reassoc |
                           arith::FastMathFlags::contract;
              Value square =
                  arith::MulFOp::create(b, l, args[0], args[0], flags);
              linalg::YieldOp::create(
                  b, l,
                  arith::AddFOp::create(b, l, args[1], square, flags)
                      .getResult());
            })
            .getResult(0);
    Value out = tensor::EmptyOp::create(
        rewriter, loc, {dimSize(rewriter, loc, x, 0), rewriter.getIndexAttr(hidden)},
        rewriter.getF32Type());
    double eps = op.getEpsilon().convertToDouble();
    auto normalize = linalg::GenericOp::create(
        rewriter, loc, out.getType(), ValueRange{x, sumSquares, adaptor.getWeight()},
        ValueRange{out},
        matc::indexingMaps(context, {{t, h}, {t}, {h}, {t, h}}),
        {IteratorType::parallel, IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value mean = arith::DivFOp::create(b, l, args[1], constantF32(b, l, hidden));
          Value shifted = arith::AddFOp::create(b, l, mean, constantF32(b, l, eps));
          Value inverse = math::RsqrtOp::create(b, l, shifted);
          Value scaled = arith::MulFOp::create(b, l, args[0], inverse);
          linalg::YieldOp::create(
              b, l, arith::MulFOp::create(b, l, scaled, toF32(b, l, args[2])).getResult());
        });
    rewriter.replaceOp(op, normalize.getResult(0));
    return success();
  }
};

/// down[:, :w] (act(gate[:w] x) * up[:w] x) on views of the universal
/// weights: slicing at offset 0 is free, static or dynamic w alike.
struct LowerNestedFfn : OpConversionPattern<NestedFfnOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(NestedFfnOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (!op.hasWidth())
      return rewriter.notifyMatchFailure(op, "no width chosen");
    Value x = adaptor.getInput();
    int64_t hidden = cast<RankedTensorType>(x.getType()).getDimSize(1);
    OpFoldResult tokens = dimSize(rewriter, loc, x, 0);
    if (op.getStaticWidth() && *op.getStaticWidth() == 0) {
      rewriter.replaceOp(op, filledTensor(rewriter, loc,
                                          {tokens, rewriter.getIndexAttr(hidden)},
                                          rewriter.getF32Type(), 0.0));
      return success();
    }
    OpFoldResult width = adaptor.getDynamicWidth()
                             ? OpFoldResult(adaptor.getDynamicWidth())
                             : OpFoldResult(rewriter.getIndexAttr(*op.getStaticWidth()));
    OpFoldResult zero = rewriter.getIndexAttr(0), one = rewriter.getIndexAttr(1),
                 hiddenSize = rewriter.getIndexAttr(hidden);
    auto rows = [&](Value weight) -> Value {
      return tensor::ExtractSliceOp::create(rewriter, loc, weight, {zero, zero},
                                            {width, hiddenSize}, {one, one});
    };
    Value gate = matmulTransposedB(rewriter, loc, x, rows(adaptor.getGate()));
    Value up = matmulTransposedB(rewriter, loc, x, rows(adaptor.getUp()));
    auto gatedType = cast<RankedTensorType>(gate.getType());
    Value gatedInit = tensor::EmptyOp::create(
        rewriter, loc, {tokens, dimSize(rewriter, loc, gate, 1)},
        gatedType.getElementType());
    Activation act = op.getActivation();
    auto identity = rewriter.getMultiDimIdentityMap(2);
    Value gated =
        linalg::GenericOp::create(
            rewriter, loc, gatedType, ValueRange{gate, up}, ValueRange{gatedInit},
            SmallVector<AffineMap>(3, identity),
            {IteratorType::parallel, IteratorType::parallel},
            [&](OpBuilder &b, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  b, l,
                  arith::MulFOp::create(b, l, activate(b, l, act, args[0]), args[1])
                      .getResult());
            })
            .getResult(0);
    Value downColumns = tensor::ExtractSliceOp::create(
        rewriter, loc, adaptor.getDown(), {zero, zero}, {hiddenSize, width}, {one, one});
    replaceWithCast(rewriter, op,
                    matmulTransposedB(rewriter, loc, gated, downColumns));
    return success();
  }
};

struct LowerLmHead : OpConversionPattern<LmHeadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LmHeadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    replaceWithCast(rewriter, op,
                    matmulTransposedB(rewriter, op.getLoc(), adaptor.getInput(),
                                      adaptor.getWeight()));
    return success();
  }
};

/// Per row: logsumexp(logits[t]) - logits[t, target[t]], with the row's
/// maximum subtracted before exponentiating; then summed (or averaged).
struct LowerCrossEntropy : OpConversionPattern<CrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CrossEntropyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = adaptor.getLogits();
    Value rowLosses =
        matc::rowCrossEntropy(rewriter, loc, logits, adaptor.getTargets());
    Value total = matc::sumAll(rewriter, loc, rowLosses);
    if (op.getReduction() == LossReduction::mean)
      total = matc::scaleScalarTensor(
          rewriter, loc, total,
          matc::reciprocalOfSize(rewriter, loc, dimSize(rewriter, loc, logits, 0)));
    replaceWithCast(rewriter, op, total);
    return success();
  }
};

struct LowerAttention : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    replaceWithCast(rewriter, op, matc::lowerAttention(rewriter, op, adaptor));
    return success();
  }
};

/// The backward of the attention core (LowerAttentionGrad.cpp).
struct LowerCausalAttentionGrad : OpConversionPattern<CausalAttentionGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CausalAttentionGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value, 3> grads =
        matc::lowerCausalAttentionGrad(rewriter, op, adaptor);
    for (auto [grad, result] : llvm::zip(grads, op->getResults()))
      if (grad.getType() != result.getType())
        grad = tensor::CastOp::create(rewriter, op.getLoc(), result.getType(),
                                      grad);
    rewriter.replaceOp(op, grads);
    return success();
  }
};

/// A layer's body runs in place of the layer.
struct InlineDecoderLayer : OpConversionPattern<DecoderLayerOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DecoderLayerOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    Value result = yield.getValue();
    rewriter.inlineBlockBefore(&body, op, adaptor.getInput());
    rewriter.eraseOp(yield);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The helpful reason why `op` cannot be lowered, or "" when it can.
StringRef whyNotLowerable(Operation *op) {
  if (isa<GetWeightOp>(op))
    return "bind weights to values first (matformer-bind-runtime-abi)";
  if (auto ffn = dyn_cast<NestedFfnOp>(op); ffn && !ffn.hasWidth())
    return "it has no width (apply a MIX with matformer-specialize-mix)";
  return "";
}

struct ConvertMatFormerToLinalgPass
    : matc::impl::ConvertMatFormerToLinalgBase<ConvertMatFormerToLinalgPass> {
  void runOnOperation() override {
    // Ops that no pattern can lower for a reason the user can fix are
    // reported as such, before anything is rewritten; anything else left
    // over fails the conversion with the framework's diagnostic.
    bool unlowerable = false;
    getOperation().walk([&](Operation *op) {
      StringRef reason = whyNotLowerable(op);
      if (reason.empty())
        return;
      op->emitOpError() << "could not be lowered to linalg: " << reason;
      unlowerable = true;
    });
    if (unlowerable)
      return signalPassFailure();

    ConversionTarget target(getContext());
    matc::configureMatFormerToLinalgTarget(target);
    RewritePatternSet patterns(&getContext());
    matc::populateMatFormerToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void matc::populateMatFormerToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<InlineDecoderLayer, LowerEmbed, LowerRmsNorm, LowerAttention,
               LowerCausalAttentionGrad, LowerNestedFfn, LowerLmHead,
               LowerCrossEntropy>(patterns.getContext());
}

void matc::configureMatFormerToLinalgTarget(ConversionTarget &target) {
  target.addLegalDialect<arith::ArithDialect, bufferization::BufferizationDialect,
                         linalg::LinalgDialect, math::MathDialect,
                         memref::MemRefDialect, tensor::TensorDialect>();
  target.addIllegalDialect<MatFormerDialect>();
  target.addLegalOp<CausalAttentionOp, WeightOp>();
}

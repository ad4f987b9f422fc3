//===- Derivatives.cpp - DifferentiableOpInterface for the model's ops ----===//
//
// The small derivatives are written here; nested_ffn's and attention's have
// files of their own (FfnDerivative.cpp, AttentionDerivative.cpp). Every
// gradient is f32, built after the whole forward, from the forward's values.
//
//===----------------------------------------------------------------------===//
#include "OpDerivatives.h"
#include "matc/Dialect/DerivativeInterface.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Derivatives.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace matc::matformer;
using utils::IteratorType;

namespace {

constexpr IteratorType kPar = IteratorType::parallel,
                       kRed = IteratorType::reduction;

/// x + y: both operands get the result's gradient.
struct AddFDerivative
    : DifferentiableOpInterface::ExternalModel<AddFDerivative, arith::AddFOp> {
  LogicalResult buildOperandGradients(Operation *op, OpBuilder &,
                                      ValueRange resultGradients,
                                      SmallVectorImpl<Value> &gradients) const {
    if (!isa<RankedTensorType>(op->getResult(0).getType()) ||
        op->getOperand(0).getType() != op->getOperand(1).getType())
      return op->emitOpError() << "is differentiated only as an add of two "
                                  "tensors of one type (a residual)";
    gradients.append({resultGradients[0], resultGradients[0]});
    return success();
  }
};

/// result[t] = table[tokens[t]]: d table[v] = sum of d result[t] over the
/// rows t that read v (a scatter-add, one row at a time).
struct EmbedDerivative
    : DifferentiableOpInterface::ExternalModel<EmbedDerivative, EmbedOp> {
  LogicalResult buildOperandGradients(Operation *operation, OpBuilder &b,
                                      ValueRange resultGradients,
                                      SmallVectorImpl<Value> &gradients) const {
    auto op = cast<EmbedOp>(operation);
    Location loc = op.getLoc();
    Value dy = resultGradients[0], tokens = op.getTokens();
    auto tableType = cast<RankedTensorType>(op.getTable().getType());
    int64_t vocab = tableType.getDimSize(0), hidden = tableType.getDimSize(1);
    Value zeros = matc::filledTensor(
        b, loc, {b.getIndexAttr(vocab), b.getIndexAttr(hidden)}, b.getF32Type(), 0.0);
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    Value count = tensor::DimOp::create(b, loc, tokens, 0);
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
                 width = b.getIndexAttr(hidden);
    auto loop = scf::ForOp::create(
        b, loc, c0, count, c1, ValueRange{zeros},
        [&](OpBuilder &nb, Location nl, Value t, ValueRange carried) {
          Value token = tensor::ExtractOp::create(nb, nl, tokens, ValueRange{t});
          Value row = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), token);
          Value table = carried[0];
          Value old = tensor::ExtractSliceOp::create(nb, nl, table, {OpFoldResult(row), zero},
                                                     {one, width}, {one, one});
          Value add = tensor::ExtractSliceOp::create(nb, nl, dy, {OpFoldResult(t), zero},
                                                     {one, width}, {one, one});
          Value sum = matc::addTensors(nb, nl, old, add);
          Value updated = tensor::InsertSliceOp::create(
              nb, nl, sum, table, {OpFoldResult(row), zero}, {one, width}, {one, one});
          scf::YieldOp::create(nb, nl, updated);
        });
    gradients.append({Value(), loop.getResult(0)});
    return success();
  }
};

/// y = x r w with r = rsqrt(mean(x^2) + eps) per row:
///   d w[h] = sum_t dy[t, h] x[t, h] r[t]
///   dx[t, h] = r w[h] dy[t, h] - x[t, h] r^3 / H sum_j dy[t, j] w[j] x[t, j]
struct RmsNormDerivative
    : DifferentiableOpInterface::ExternalModel<RmsNormDerivative, RmsNormOp> {
  LogicalResult buildOperandGradients(Operation *operation, OpBuilder &b,
                                      ValueRange resultGradients,
                                      SmallVectorImpl<Value> &gradients) const {
    auto op = cast<RmsNormOp>(operation);
    Location loc = op.getLoc();
    Value x = op.getInput(), w = op.getWeight(), dy = resultGradients[0];
    int64_t hidden = cast<RankedTensorType>(x.getType()).getDimSize(1);
    double eps = op.getEpsilon().convertToDouble();
    MLIRContext *context = b.getContext();
    AffineExpr t, h;
    bindDims(context, t, h);
    OpFoldResult rows = matc::dimSize(b, loc, x, 0);
    Value sumSquares = matc::buildGeneric(
        b, loc, {x}, {{t, h}}, {t}, {rows}, {kPar, kRed}, 0.0,
        [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value square = arith::MulFOp::create(nb, nl, args[0], args[0]);
          return arith::AddFOp::create(nb, nl, args[1], square);
        });
    Value r = matc::mapElements(
        b, loc, sumSquares, {sumSquares},
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value mean = arith::DivFOp::create(nb, nl, args[0],
                                             matc::constantF32(nb, nl, hidden));
          return math::RsqrtOp::create(
              nb, nl, arith::AddFOp::create(nb, nl, mean, matc::constantF32(nb, nl, eps)));
        });
    Value dotted = matc::buildGeneric(
        b, loc, {dy, w, x}, {{t, h}, {h}, {t, h}}, {t}, {rows}, {kPar, kRed}, 0.0,
        [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value term = arith::MulFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, args[0], args[1]), args[2]);
          return arith::AddFOp::create(nb, nl, args[3], term);
        });
    Value dx = matc::buildGeneric(
        b, loc, {x, dy, w, r, dotted}, {{t, h}, {t, h}, {h}, {t}, {t}}, {t, h},
        {rows, b.getIndexAttr(hidden)}, {kPar, kPar}, 0.0,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value xv = args[0], dyv = args[1], wv = args[2], rv = args[3], s = args[4];
          Value direct = arith::MulFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, rv, wv), dyv);
          Value r3 = arith::MulFOp::create(
              nb, nl, rv, arith::MulFOp::create(nb, nl, rv, rv));
          Value coefficient = arith::DivFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, r3, s),
              matc::constantF32(nb, nl, hidden));
          return arith::SubFOp::create(nb, nl, direct,
                                       arith::MulFOp::create(nb, nl, xv, coefficient));
        });
    Value dw = matc::buildGeneric(
        b, loc, {dy, x, r}, {{t, h}, {t, h}, {t}}, {h}, {b.getIndexAttr(hidden)},
        {kRed, kPar}, 0.0, [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value term = arith::MulFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, args[0], args[1]), args[2]);
          return arith::AddFOp::create(nb, nl, args[3], term);
        });
    auto inputType = cast<RankedTensorType>(x.getType());
    if (dx.getType() != inputType)
      dx = tensor::CastOp::create(b, loc, inputType, dx);
    gradients.append({dx, dw});
    return success();
  }
};

/// logits = x w^T: dx = d logits w, dw = d logits^T x.
struct LmHeadDerivative
    : DifferentiableOpInterface::ExternalModel<LmHeadDerivative, LmHeadOp> {
  LogicalResult buildOperandGradients(Operation *operation, OpBuilder &b,
                                      ValueRange resultGradients,
                                      SmallVectorImpl<Value> &gradients) const {
    auto op = cast<LmHeadOp>(operation);
    Location loc = op.getLoc();
    Value dLogits = resultGradients[0];
    Value dx = matc::matmul(b, loc, dLogits, op.getWeight());
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    if (dx.getType() != inputType)
      dx = tensor::CastOp::create(b, loc, inputType, dx);
    gradients.append({dx, matc::matmulTransposedA(b, loc, dLogits, op.getInput())});
    return success();
  }
};

/// d logits[t, v] = d loss * scale * (softmax(logits[t])[v] - [v == target[t]])
/// with scale 1 for a sum, 1 / T for a mean.
struct CrossEntropyDerivative
    : DifferentiableOpInterface::ExternalModel<CrossEntropyDerivative,
                                               CrossEntropyOp> {
  LogicalResult buildOperandGradients(Operation *operation, OpBuilder &b,
                                      ValueRange resultGradients,
                                      SmallVectorImpl<Value> &gradients) const {
    auto op = cast<CrossEntropyOp>(operation);
    Location loc = op.getLoc();
    Value logits = op.getLogits();
    Value scale = tensor::ExtractOp::create(b, loc, resultGradients[0], ValueRange{});
    if (op.getReduction() == LossReduction::mean)
      scale = arith::MulFOp::create(
          b, loc, scale,
          matc::reciprocalOfSize(b, loc, matc::dimSize(b, loc, logits, 0)));
    Value logSumExp = matc::rowLogSumExp(b, loc, logits);
    MLIRContext *context = b.getContext();
    AffineExpr t, v;
    bindDims(context, t, v);
    Value dLogits = matc::buildGeneric(
        b, loc, {logits, logSumExp, op.getTargets()}, {{t, v}, {t}, {t}}, {t, v},
        {matc::dimSize(b, loc, logits, 0), matc::dimSize(b, loc, logits, 1)},
        {kPar, kPar}, 0.0, [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value probability = math::ExpOp::create(
              nb, nl, arith::SubFOp::create(nb, nl, args[0], args[1]));
          Value column = arith::IndexCastOp::create(
              nb, nl, args[2].getType(), linalg::IndexOp::create(nb, nl, 1));
          Value isTarget = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                                 column, args[2]);
          Value indicator = arith::SelectOp::create(
              nb, nl, isTarget, matc::constantF32(nb, nl, 1.0),
              matc::constantF32(nb, nl, 0.0));
          return arith::MulFOp::create(
              nb, nl, arith::SubFOp::create(nb, nl, probability, indicator), scale);
        });
    auto logitsType = cast<RankedTensorType>(logits.getType());
    if (dLogits.getType() != logitsType)
      dLogits = tensor::CastOp::create(b, loc, logitsType, dLogits);
    gradients.append({dLogits, Value()});
    return success();
  }
};

struct NestedFfnDerivative
    : DifferentiableOpInterface::ExternalModel<NestedFfnDerivative, NestedFfnOp> {
  LogicalResult buildOperandGradients(Operation *operation, OpBuilder &b,
                                      ValueRange resultGradients,
                                      SmallVectorImpl<Value> &gradients) const {
    auto op = cast<NestedFfnOp>(operation);
    if (!op.hasWidth())
      return op.emitOpError() << "has no width to differentiate at (apply a "
                                 "MIX with matformer-specialize-mix)";
    matc::buildNestedFfnGradients(b, op, resultGradients[0], gradients);
    return success();
  }
};

struct AttentionDerivative
    : DifferentiableOpInterface::ExternalModel<AttentionDerivative, AttentionOp> {
  LogicalResult buildOperandGradients(Operation *operation, OpBuilder &b,
                                      ValueRange resultGradients,
                                      SmallVectorImpl<Value> &gradients) const {
    return matc::buildAttentionGradients(b, cast<AttentionOp>(operation),
                                         resultGradients[0], gradients);
  }
};

} // namespace

void matc::registerDerivativeInterfaceModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, MatFormerDialect *) {
    EmbedOp::attachInterface<EmbedDerivative>(*context);
    RmsNormOp::attachInterface<RmsNormDerivative>(*context);
    LmHeadOp::attachInterface<LmHeadDerivative>(*context);
    CrossEntropyOp::attachInterface<CrossEntropyDerivative>(*context);
    NestedFfnOp::attachInterface<NestedFfnDerivative>(*context);
    AttentionOp::attachInterface<AttentionDerivative>(*context);
  });
  registry.addExtension(+[](MLIRContext *context, arith::ArithDialect *) {
    arith::AddFOp::attachInterface<AddFDerivative>(*context);
  });
}

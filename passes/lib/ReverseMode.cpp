//===- ReverseMode.cpp - gradients of a loss with respect to its weights --===//
//
// Op-agnostic reverse mode: the forward is walked from the loss back to the
// arguments, and each op that a gradient reaches builds its operands'
// gradients through DifferentiableOpInterface. The backward is emitted after
// the whole forward, so it reads the forward's values directly (they are
// kept alive until the backward has used them; each op's derivative
// recomputes the op's own internals, such as attention's projections).
//
//===----------------------------------------------------------------------===//
#include "matc/Dialect/DerivativeInterface.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Derivatives.h"
#include "matc/Passes/LinalgBuilders.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace matc {
#define GEN_PASS_DEF_REVERSEMODE
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

/// Decoder layers are structure: the derivative of a layer is the
/// derivative of its body, so their bodies are inlined first.
void inlineLayers(func::FuncOp function) {
  SmallVector<DecoderLayerOp> layers;
  function.walk([&](DecoderLayerOp layer) { layers.push_back(layer); });
  IRRewriter rewriter(function.getContext());
  for (DecoderLayerOp layer : layers) {
    Block &body = layer.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    Value result = yield.getValue();
    rewriter.inlineBlockBefore(&body, layer, layer.getInput());
    rewriter.eraseOp(yield);
    rewriter.replaceOp(layer, result);
  }
}

/// A zero tensor shaped like `value`.
Value zerosLike(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(matc::dimSize(b, loc, value, d));
  return matc::filledTensor(b, loc, sizes, b.getF32Type(), 0.0);
}

bool isFloatTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

/// Rewrites `function` (returning one tensor<f32> loss) to return the loss
/// and the gradient of every weight argument, in argument order.
LogicalResult differentiate(func::FuncOp function) {
  if (function.getNumResults() != 1 ||
      function.getResultTypes()[0] !=
          RankedTensorType::get({}, Float32Type::get(function.getContext())))
    return function.emitOpError()
           << "must return one tensor<f32> loss to be differentiated, got "
           << function.getFunctionType();
  if (!function.getBody().hasOneBlock())
    return function.emitOpError() << "must have a single block to be "
                                     "differentiated";
  SmallVector<BlockArgument> weights;
  for (BlockArgument arg : function.getArguments()) {
    if (!function.getArgAttr(arg.getArgNumber(), kWeightAttrName))
      continue;
    auto type = cast<RankedTensorType>(arg.getType());
    if (!type.getElementType().isF32())
      return function.emitOpError()
             << "weight argument " << arg.getArgNumber() << " ("
             << function.getArgAttr(arg.getArgNumber(), kWeightAttrName)
             << ") is " << type << ": only f32 weights train";
    weights.push_back(arg);
  }
  inlineLayers(function);

  Block &body = function.getBody().front();
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  OpBuilder b(returnOp);
  Location loc = returnOp.getLoc();
  DenseMap<Value, Value> gradients;
  auto accumulate = [&](Value value, Value gradient) {
    Value &slot = gradients[value];
    slot = slot ? matc::addTensors(b, loc, slot, gradient) : gradient;
  };
  Value loss = returnOp.getOperand(0);
  accumulate(loss, matc::filledTensor(b, loc, {}, b.getF32Type(), 1.0));

  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);
  for (Operation *op : llvm::reverse(forward)) {
    bool reached = llvm::any_of(op->getResults(), [&](Value result) {
      return gradients.count(result);
    });
    if (!reached)
      continue;
    auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable)
      return op->emitOpError()
             << "has no derivative (matformer::DifferentiableOpInterface), "
                "but the loss depends on it";
    b.setInsertionPoint(returnOp);
    SmallVector<Value> resultGradients;
    for (Value result : op->getResults()) {
      Value gradient = gradients.lookup(result);
      if (!gradient && !isFloatTensor(result.getType()))
        return op->emitOpError() << "result of type " << result.getType()
                                 << " cannot carry a gradient";
      resultGradients.push_back(gradient ? gradient
                                         : zerosLike(b, op->getLoc(), result));
    }
    SmallVector<Value> operandGradients;
    if (failed(differentiable.buildOperandGradients(b, resultGradients,
                                                    operandGradients)))
      return failure();
    if (operandGradients.size() != op->getNumOperands())
      return op->emitOpError() << "derivative built "
                               << operandGradients.size()
                               << " gradients for " << op->getNumOperands()
                               << " operands";
    for (auto [operand, gradient] :
         llvm::zip(op->getOperands(), operandGradients))
      if (gradient)
        accumulate(operand, gradient);
  }

  b.setInsertionPoint(returnOp);
  SmallVector<Value> results = {loss};
  for (BlockArgument weight : weights) {
    Value gradient = gradients.lookup(weight);
    results.push_back(gradient ? gradient : zerosLike(b, loc, weight));
  }
  func::ReturnOp::create(b, loc, results);
  returnOp.erase();
  function.setFunctionType(FunctionType::get(
      function.getContext(), function.getArgumentTypes(),
      ValueRange(results).getTypes()));
  function->removeAttr(kDifferentiateAttrName);
  function->setAttr(kGradientsAttrName, UnitAttr::get(function.getContext()));
  return success();
}

struct ReverseModePass : matc::impl::ReverseModeBase<ReverseModePass> {
  void getDependentDialects(DialectRegistry &registry) const override {
    ReverseModeBase::getDependentDialects(registry);
    matc::registerDerivativeInterfaceModels(registry);
  }

  void runOnOperation() override {
    for (func::FuncOp function : getOperation().getOps<func::FuncOp>())
      if (function->hasAttr(kDifferentiateAttrName) &&
          failed(differentiate(function)))
        return signalPassFailure();
  }
};

} // namespace

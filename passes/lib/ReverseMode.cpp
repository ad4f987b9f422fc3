//===- ReverseMode.cpp - gradients of a loss with respect to its weights --===//
//
// Op-agnostic reverse mode: the forward is walked from the loss back to the
// arguments, and each op that a gradient reaches builds its operands'
// gradients through DifferentiableOpInterface. The backward is emitted after
// the whole forward, so it reads the forward's values directly (they are
// kept alive until the backward has used them). A decoder layer's backward
// is a shared function that recomputes the layer's body first, so inside a
// layer nothing is kept (checkpointing at layer boundaries); each op's
// derivative also recomputes the op's own internals.
//
//===----------------------------------------------------------------------===//
#include "matc/Dialect/DerivativeInterface.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Derivatives.h"
#include "matc/Passes/LinalgBuilders.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace matc {
#define GEN_PASS_DEF_REVERSEMODE
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

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

/// The reverse sweep shared by a loss function and a layer's backward:
/// `gradients` holds the seeds; every op of `forward` (one block, in
/// program order) that a gradient reaches adds its operands' gradients,
/// built at `b`'s insertion point.
class ReverseSweep {
public:
  ReverseSweep(ModuleOp module) : module(module), symbols(module) {}

  LogicalResult run(OpBuilder &b, ArrayRef<Operation *> forward,
                    DenseMap<Value, Value> &gradients) {
    for (Operation *op : llvm::reverse(forward)) {
      bool reached = llvm::any_of(op->getResults(), [&](Value result) {
        return gradients.count(result);
      });
      if (!reached)
        continue;
      SmallVector<Value> resultGradients;
      for (Value result : op->getResults()) {
        Value gradient = gradients.lookup(result);
        if (!gradient && !isFloatTensor(result.getType()))
          return op->emitOpError() << "result of type " << result.getType()
                                   << " cannot carry a gradient";
        resultGradients.push_back(
            gradient ? gradient : zerosLike(b, op->getLoc(), result));
      }
      SmallVector<Value> operandGradients;
      if (auto layer = dyn_cast<DecoderLayerOp>(op)) {
        if (failed(differentiateLayer(b, layer, resultGradients[0],
                                      gradients)))
          return failure();
        continue;
      }
      auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
      if (!differentiable)
        return op->emitOpError()
               << "has no derivative (matformer::DifferentiableOpInterface), "
                  "but the loss depends on it";
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
          accumulate(b, gradients, operand, gradient);
    }
    return success();
  }

private:
  static void accumulate(OpBuilder &b, DenseMap<Value, Value> &gradients,
                         Value value, Value gradient) {
    Value &slot = gradients[value];
    slot = slot ? matc::addTensors(b, value.getLoc(), slot, gradient) : gradient;
  }

  /// A layer is structure: its derivative is its body's. The body's
  /// backward is a function of the layer's input, the values it captures
  /// (weights, a width) and d output, shared by every layer with the same
  /// body, that recomputes the body's forward and sweeps it backwards; it
  /// returns d input and the gradients of the captured float tensors.
  LogicalResult differentiateLayer(OpBuilder &b, DecoderLayerOp layer,
                                   Value resultGradient,
                                   DenseMap<Value, Value> &gradients) {
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(layer.getBody(), captured);
    FailureOr<func::FuncOp> backward = layerBackward(layer, captured.getArrayRef());
    if (failed(backward))
      return failure();
    SmallVector<Value> operands = {layer.getInput()};
    operands.append(captured.begin(), captured.end());
    operands.push_back(resultGradient);
    auto call = func::CallOp::create(b, layer.getLoc(), *backward, operands);
    accumulate(b, gradients, layer.getInput(), call.getResult(0));
    unsigned next = 1;
    for (Value value : captured)
      if (isFloatTensor(value.getType()))
        accumulate(b, gradients, value, call.getResult(next++));
    return success();
  }

  FailureOr<func::FuncOp> layerBackward(DecoderLayerOp layer,
                                        ArrayRef<Value> captured) {
    Location loc = layer.getLoc();
    Type inputType = layer.getInput().getType();
    SmallVector<Type> argTypes = {inputType}, resultTypes = {inputType};
    for (Value value : captured) {
      argTypes.push_back(value.getType());
      if (isFloatTensor(value.getType()))
        resultTypes.push_back(value.getType());
    }
    argTypes.push_back(inputType);
    OpBuilder b(layer->getParentOfType<func::FuncOp>());
    auto function = func::FuncOp::create(
        b, loc, "decoder_layer_backward",
        b.getFunctionType(argTypes, resultTypes));
    function.setPrivate();
    Block *body = function.addEntryBlock();
    IRMapping mapping;
    Block &layerBody = layer.getBody().front();
    mapping.map(layerBody.getArgument(0), body->getArgument(0));
    for (auto [value, arg] :
         llvm::zip(captured, body->getArguments().drop_front()))
      mapping.map(value, arg);
    b.setInsertionPointToStart(body);
    SmallVector<Operation *> forward;
    for (Operation &op : layerBody.without_terminator())
      forward.push_back(b.clone(op, mapping));
    Value output = mapping.lookup(cast<YieldOp>(layerBody.getTerminator()).getValue());
    DenseMap<Value, Value> gradients;
    gradients[output] = body->getArguments().back();
    if (failed(run(b, forward, gradients))) {
      function.erase();
      return failure();
    }
    SmallVector<Value> results;
    auto gradientOf = [&](Value value) {
      Value gradient = gradients.lookup(value);
      return gradient ? gradient : zerosLike(b, loc, value);
    };
    results.push_back(gradientOf(body->getArgument(0)));
    for (BlockArgument arg : body->getArguments().drop_front().drop_back())
      if (isFloatTensor(arg.getType()))
        results.push_back(gradientOf(arg));
    func::ReturnOp::create(b, loc, results);

    std::string key = fingerprint(function);
    func::FuncOp &existing = shared[key];
    if (existing) {
      function.erase();
      return existing;
    }
    existing = function;
    symbols.insert(function); // renames on a clash: _0, _1, ...
    return function;
  }

  /// The function as text, without its name or locations.
  static std::string fingerprint(func::FuncOp function) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << function.getFunctionType();
    for (Operation &op : function.getBody().front())
      op.print(os, OpPrintingFlags().useLocalScope());
    return text;
  }

  ModuleOp module;
  SymbolTable symbols;
  llvm::StringMap<func::FuncOp> shared;
};

/// Rewrites `function` (returning one tensor<f32> loss) to return the loss
/// and the gradient of every weight argument, in argument order.
LogicalResult differentiate(func::FuncOp function, ReverseSweep &sweep) {
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

  Block &body = function.getBody().front();
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  OpBuilder b(returnOp);
  Location loc = returnOp.getLoc();
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);
  Value loss = returnOp.getOperand(0);
  DenseMap<Value, Value> gradients;
  gradients[loss] = matc::filledTensor(b, loc, {}, b.getF32Type(), 1.0);
  if (failed(sweep.run(b, forward, gradients)))
    return failure();

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
    SmallVector<func::FuncOp> losses;
    for (func::FuncOp function : getOperation().getOps<func::FuncOp>())
      if (function->hasAttr(kDifferentiateAttrName))
        losses.push_back(function);
    ReverseSweep sweep(getOperation());
    for (func::FuncOp function : losses)
      if (failed(differentiate(function, sweep)))
        return signalPassFailure();
  }
};

} // namespace

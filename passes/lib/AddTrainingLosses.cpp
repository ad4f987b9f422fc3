//===- AddTrainingLosses.cpp - one loss function per granularity ----------===//
//
// A training step runs the universal model at every granularity: granularity
// i computes every layer's FFN at width granularities[i] (clamped to the
// layer's d_ff). Each is a copy of the universal @forward followed by the
// mean cross entropy against the next tokens, carrying the mix that
// `matformer-specialize-mix` then applies, and marked for
// `matformer-reverse-mode`.
//
//===----------------------------------------------------------------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace matc {
#define GEN_PASS_DEF_ADDTRAININGLOSSES
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

/// d_ff of every layer of `forward` (0 for a layer without an FFN).
SmallVector<int64_t> layerWidths(func::FuncOp forward) {
  SmallVector<int64_t> widths;
  forward.walk([&](DecoderLayerOp layer) {
    int64_t dff = 0;
    layer.getBody().walk([&](NestedFfnOp ffn) { dff = ffn.getMaxWidth(); });
    widths.push_back(dff);
  });
  return widths;
}

/// `func.func private @training_loss_<i>(%tokens: tensor<?xi32>) ->
/// tensor<f32>`: the forward of tokens[0, n) and the mean cross entropy
/// against tokens[1, n + 1), n + 1 being the tokens' length.
func::FuncOp buildLoss(OpBuilder &b, func::FuncOp forward, int64_t index,
                       MixAttr mix) {
  Location loc = forward.getLoc();
  auto tokensType = cast<RankedTensorType>(forward.getArgumentTypes()[0]);
  auto lossType = RankedTensorType::get({}, b.getF32Type());
  auto function = func::FuncOp::create(
      b, loc, "training_loss_" + std::to_string(index),
      b.getFunctionType({tokensType}, {lossType}));
  function.setPrivate();
  function->setAttr(kMixAttrName, mix);
  function->setAttr(kGranularityAttrName, b.getI64IntegerAttr(index));
  function->setAttr(kDifferentiateAttrName, b.getUnitAttr());
  Block *body = function.addEntryBlock();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(body);
  Value tokens = body->getArgument(0);
  Value length = tensor::DimOp::create(b, loc, tokens, 0);
  Value count = arith::SubIOp::create(
      b, loc, length, arith::ConstantIndexOp::create(b, loc, 1));
  auto window = [&](int64_t offset) -> Value {
    return tensor::ExtractSliceOp::create(
        b, loc, tokens, {OpFoldResult(b.getIndexAttr(offset))},
        {OpFoldResult(count)}, {OpFoldResult(b.getIndexAttr(1))});
  };
  IRMapping mapping;
  mapping.map(forward.getArgument(0), window(0));
  for (Operation &op : forward.getBody().front().without_terminator())
    b.clone(op, mapping);
  Value logits = mapping.lookup(
      forward.getBody().front().getTerminator()->getOperand(0));
  Value loss = CrossEntropyOp::create(b, loc, lossType, logits, window(1),
                                      LossReduction::mean);
  func::ReturnOp::create(b, loc, loss);
  return function;
}

struct AddTrainingLossesPass
    : matc::impl::AddTrainingLossesBase<AddTrainingLossesPass> {
  using AddTrainingLossesBase::AddTrainingLossesBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || forward.getNumArguments() != 1 ||
        forward.getNumResults() != 1) {
      module.emitError() << "expected the universal func.func "
                            "@forward(tensor<?xi32>) -> tensor<?xVxf32> to "
                            "train";
      return signalPassFailure();
    }
    bool specialized = false;
    forward.walk([&](NestedFfnOp ffn) { specialized |= ffn.hasWidth(); });
    if (specialized) {
      forward.emitOpError() << "must be the universal model (no FFN widths "
                               "yet) to build training losses from";
      return signalPassFailure();
    }
    if (granularities.empty()) {
      module.emitError() << "training needs at least one granularity "
                            "(granularities=...)";
      return signalPassFailure();
    }
    SmallVector<int64_t> dffs = layerWidths(forward);
    OpBuilder b(forward);
    for (auto [index, width] : llvm::enumerate(granularities)) {
      if (width <= 0) {
        module.emitError() << "granularity " << index << " is " << width
                           << ", expected a positive width";
        return signalPassFailure();
      }
      SmallVector<int64_t> mix;
      for (int64_t dff : dffs)
        mix.push_back(std::min<int64_t>(width, dff));
      buildLoss(b, forward, static_cast<int64_t>(index),
                MixAttr::get(&getContext(), mix));
    }
  }
};

} // namespace

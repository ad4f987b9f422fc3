//===- SpecializeMix.cpp - fix each layer's width from a MIX ---------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace matc {
#define GEN_PASS_DEF_SPECIALIZEMIX
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

/// The FFN of a layer, or null when the layer has none (a width-0 layer of
/// an extracted submodel).
NestedFfnOp findFfn(DecoderLayerOp layer) {
  NestedFfnOp found;
  layer.getBody().walk([&](NestedFfnOp ffn) { found = ffn; });
  return found;
}

/// Width 0: `x + ffn(norm(x))` becomes `x`; the norm dies with the FFN.
void removeFfn(NestedFfnOp ffn) {
  for (OpOperand &use : llvm::make_early_inc_range(ffn->getUses())) {
    auto add = dyn_cast<arith::AddFOp>(use.getOwner());
    if (!add)
      continue;
    Value residual = add.getOperand(1 - use.getOperandNumber());
    add.replaceAllUsesWith(residual);
    add.erase();
  }
}

/// Checks `mix` against the function's layers before anything changes: the
/// MIX text was parsed (and warned about) by the driver, but IR can come
/// from anywhere.
LogicalResult checkMix(func::FuncOp function, MixAttr mix,
                       MutableArrayRef<DecoderLayerOp> layers) {
  ArrayRef<int64_t> choice = mix.getLayers();
  if (choice.size() != layers.size())
    return function.emitOpError()
           << "has " << layers.size() << " decoder layers but its "
           << kMixAttrName << " " << mix << " lists " << choice.size();
  for (auto [i, layer] : llvm::enumerate(layers)) {
    if (layer.getIndex() != i)
      return layer.emitOpError() << "has index " << layer.getIndex()
                                 << ", expected " << i
                                 << ": a mix needs every layer of the "
                                    "universal model, numbered in order";
    NestedFfnOp ffn = findFfn(layer);
    int64_t maxWidth = ffn ? ffn.getMaxWidth() : 0;
    if (choice[i] != MixAttr::kSkip && choice[i] > maxWidth)
      return layer.emitOpError()
             << "gets width " << choice[i] << " from " << kMixAttrName
             << ", expected at most " << maxWidth << " (its d_ff)";
  }
  return success();
}

/// Applies the function's mix: static widths, width-0 FFNs and skipped
/// layers removed.
void specialize(func::FuncOp function, MixAttr mix,
                MutableArrayRef<DecoderLayerOp> layers) {
  for (auto [layer, width] : llvm::zip(layers, mix.getLayers())) {
    if (width == MixAttr::kSkip) {
      layer.replaceAllUsesWith(layer.getInput());
      layer.erase();
      continue;
    }
    NestedFfnOp ffn = findFfn(layer);
    if (!ffn)
      continue;
    ffn.getDynamicWidthMutable().clear();
    ffn.setStaticWidth(static_cast<uint64_t>(width));
    if (width == 0)
      removeFfn(ffn);
  }
}

struct SpecializeMixPass
    : matc::impl::SpecializeMixBase<SpecializeMixPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool changed = false;
    for (func::FuncOp function : module.getOps<func::FuncOp>()) {
      auto mix = function->getAttrOfType<MixAttr>(kMixAttrName);
      if (!mix)
        continue; // universal (or elastic): widths stay open
      SmallVector<DecoderLayerOp> layers;
      function.walk([&](DecoderLayerOp layer) { layers.push_back(layer); });
      bool open = false, chosen = false;
      function.walk([&](NestedFfnOp ffn) {
        (ffn.hasWidth() ? chosen : open) = true;
      });
      if (chosen && !open)
        continue; // already specialized; verify-nesting checks it agrees
      if (chosen) {
        function.emitOpError() << "mixes FFNs with and without widths; "
                                  "specialize the universal model";
        return signalPassFailure();
      }
      if (failed(checkMix(function, mix, layers)))
        return signalPassFailure();
      specialize(function, mix, layers);
      changed = true;
    }
    if (!changed)
      return;
    RewritePatternSet patterns(&getContext());
    for (RegisteredOperationName op :
         getContext().getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      module.emitWarning() << "canonicalization after specialization did not "
                              "converge";
  }
};

} // namespace

//===- SpecializeMix.cpp - fix each layer's width from a MIX ---------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"

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

struct SpecializeMixPass
    : matc::impl::SpecializeMixBase<SpecializeMixPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (auto applied = module->getAttrOfType<MixAttr>(kMixAttrName)) {
      module.emitError() << "module is already specialized for mix "
                         << applied << "; specialize the universal model";
      return signalPassFailure();
    }

    SmallVector<DecoderLayerOp> layers;
    module.walk([&](DecoderLayerOp layer) { layers.push_back(layer); });
    for (auto [i, layer] : llvm::enumerate(layers))
      if (layer.getIndex() != i) {
        layer.emitOpError() << "has index " << layer.getIndex()
                            << ", expected " << i
                            << ": a MIX needs every layer of the universal "
                               "model, numbered in order";
        return signalPassFailure();
      }

    std::vector<int64_t> granularities, layerMaxWidth;
    for (DecoderLayerOp layer : layers) {
      NestedFfnOp ffn = findFfn(layer);
      layerMaxWidth.push_back(ffn ? ffn.getMaxWidth() : 0);
      if (ffn && granularities.empty())
        if (GranularitiesAttr attr = ffn.getGranularitiesAttr())
          granularities.assign(attr.getWidths().begin(),
                               attr.getWidths().end());
    }

    std::string mixText = mix;
    if (mixText.empty())
      if (auto defaultMix =
              module->getAttrOfType<StringAttr>(kDefaultMixAttrName))
        mixText = defaultMix.str();
    if (mixText.empty())
      mixText = "XL";

    matc::spec::Diagnostics diags;
    std::optional<matc::spec::Mix> choice =
        matc::spec::parseMix(mixText, static_cast<int64_t>(layers.size()),
                             granularities, layerMaxWidth, diags);
    for (const matc::spec::Diagnostic &diag : diags.all()) {
      if (diag.severity == matc::spec::Diagnostic::Severity::Error)
        module.emitError() << diag.message;
      else
        module.emitWarning() << diag.message;
    }
    if (!choice)
      return signalPassFailure();

    SmallVector<int64_t> applied;
    for (auto [layer, layerChoice] : llvm::zip(layers, *choice)) {
      if (layerChoice.skip) {
        applied.push_back(MixAttr::kSkip);
        layer.replaceAllUsesWith(layer.getInput());
        layer.erase();
        continue;
      }
      applied.push_back(layerChoice.width);
      NestedFfnOp ffn = findFfn(layer);
      if (!ffn)
        continue;
      ffn.getDynamicWidthMutable().clear();
      ffn.setStaticWidth(static_cast<uint64_t>(layerChoice.width));
      if (layerChoice.width == 0)
        removeFfn(ffn);
    }
    module->setAttr(kMixAttrName, MixAttr::get(&getContext(), applied));

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

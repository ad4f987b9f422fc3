//===- VerifyNesting.cpp - model-wide nesting invariants -------------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"

#include "llvm/ADT/Twine.h"

namespace matc {
#define GEN_PASS_DEF_VERIFYNESTING
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

/// A nested FFN slices its layer's own universal weights: anything else
/// would run one layer's neurons in another layer.
LogicalResult checkFfnWeights(NestedFfnOp ffn, int64_t layer) {
  struct Role {
    Value value;
    StringRef name;
  } roles[] = {{ffn.getGate(), "gate_proj"},
               {ffn.getUp(), "up_proj"},
               {ffn.getDown(), "down_proj"}};
  for (const Role &role : roles) {
    auto read = role.value.getDefiningOp<GetWeightOp>();
    if (!read)
      continue; // weights passed in as values, e.g. by a training step
    std::string expected =
        ("model.layers." + Twine(layer) + ".mlp." + role.name + ".weight")
            .str();
    if (read.getName() != expected)
      return ffn.emitOpError()
             << "in layer " << layer << " reads '" << read.getName()
             << "' as its " << role.name << ", expected '" << expected << "'";
  }
  return success();
}

struct VerifyNestingPass
    : matc::impl::VerifyNestingBase<VerifyNestingPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool ok = true;

    std::optional<uint64_t> previousIndex;
    SmallVector<DecoderLayerOp> layers;
    module.walk([&](DecoderLayerOp layer) {
      if (previousIndex && layer.getIndex() <= *previousIndex) {
        layer.emitOpError() << "has index " << layer.getIndex()
                            << ", expected an index greater than "
                            << *previousIndex << " (layers run in order)";
        ok = false;
      }
      previousIndex = layer.getIndex();
      layers.push_back(layer);
    });

    GranularitiesAttr modelGranularities;
    module.walk([&](NestedFfnOp ffn) {
      auto layer = ffn->getParentOfType<DecoderLayerOp>();
      if (!layer) {
        ffn.emitOpError() << "must be inside a matformer.decoder_layer";
        ok = false;
        return;
      }
      if (failed(checkFfnWeights(ffn, layer.getIndex())))
        ok = false;
      GranularitiesAttr granularities = ffn.getGranularitiesAttr();
      if (granularities && !modelGranularities)
        modelGranularities = granularities;
      else if (granularities && granularities != modelGranularities) {
        ffn.emitOpError() << "has granularities " << granularities
                          << " but an earlier layer has "
                          << modelGranularities
                          << ": one model has one set of granularities";
        ok = false;
      }
      // Untrained widths are allowed by default; the MIX parser already
      // warned about them once.
      std::optional<uint64_t> width = ffn.getStaticWidth();
      if (requireTrainedWidths && granularities && width && *width != 0 &&
          !granularities.contains(static_cast<int64_t>(*width))) {
        ffn.emitOpError() << "width " << *width
                          << " is not a trained granularity " << granularities;
        ok = false;
      }
    });

    if (auto mix = module->getAttrOfType<MixAttr>(kMixAttrName)) {
      ArrayRef<int64_t> choice = mix.getLayers();
      for (DecoderLayerOp layer : layers) {
        int64_t index = layer.getIndex();
        if (index >= static_cast<int64_t>(choice.size())) {
          layer.emitOpError() << "has index " << index << " but "
                              << kMixAttrName << " lists only "
                              << choice.size() << " layers";
          ok = false;
          continue;
        }
        if (choice[index] == MixAttr::kSkip) {
          layer.emitOpError() << "is present but " << kMixAttrName
                              << " skips it";
          ok = false;
          continue;
        }
        layer.getBody().walk([&](NestedFfnOp ffn) {
          std::optional<uint64_t> width = ffn.getStaticWidth();
          if (!width || static_cast<int64_t>(*width) != choice[index]) {
            ffn.emitOpError() << "runs at width "
                              << (width ? std::to_string(*width)
                                        : std::string("(not static)"))
                              << ", expected " << choice[index]
                              << " from " << kMixAttrName;
            ok = false;
          }
        });
      }
    }
    if (!ok)
      signalPassFailure();
  }
};

} // namespace

//===- VerifyNesting.cpp - model-wide nesting invariants -------------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"
#include "matc/spec/CheckpointNames.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

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
  using matc::spec::Tensor;
  struct Role {
    Value value;
    Tensor tensor;
    StringRef name;
  } roles[] = {{ffn.getGate(), Tensor::GateProj, "gate_proj"},
               {ffn.getUp(), Tensor::UpProj, "up_proj"},
               {ffn.getDown(), Tensor::DownProj, "down_proj"}};
  for (const Role &role : roles) {
    StringRef name;
    if (auto read = role.value.getDefiningOp<GetWeightOp>())
      name = read.getName();
    else if (StringAttr argName = getWeightName(role.value))
      name = argName.getValue();
    else
      continue; // computed weights, e.g. by a training step
    std::string expected = matc::spec::tensorName(role.tensor, layer);
    if (name != expected)
      return ffn.emitOpError()
             << "in layer " << layer << " reads '" << name << "' as its "
             << role.name << ", expected '" << expected << "'";
  }
  return success();
}

struct VerifyNestingPass
    : matc::impl::VerifyNestingBase<VerifyNestingPass> {
  using Base::Base;

  void runOnOperation() override {
    bool ok = true;
    for (func::FuncOp function : getOperation().getOps<func::FuncOp>())
      ok &= verifyFunction(function);
    if (!ok)
      signalPassFailure();
  }

  bool verifyFunction(func::FuncOp function) {
    bool ok = true;
    std::optional<uint64_t> previousIndex;
    SmallVector<DecoderLayerOp> layers;
    function.walk([&](DecoderLayerOp layer) {
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
    function.walk([&](NestedFfnOp ffn) {
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

    auto mix = function->getAttrOfType<MixAttr>(kMixAttrName);
    // A function still waiting for matformer-specialize-mix has open widths.
    bool open = false;
    function.walk([&](NestedFfnOp ffn) { open |= !ffn.hasWidth(); });
    if (mix && !open) {
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
    return ok;
  }
};

} // namespace

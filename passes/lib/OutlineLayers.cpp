//===- OutlineLayers.cpp - one function per distinct layer shape ----------===//
//
// The layers of a uniform mix compute the same thing on different weights
// and cache slots. Generating their code once, and calling it per layer,
// divides the work of every later stage (and the size of the binary) by
// the number of layers: a uniform mix needs one function, a per-layer mix
// one per distinct width, an elastic model one with a run-time width.
//
//===----------------------------------------------------------------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace matc {
#define GEN_PASS_DEF_OUTLINELAYERS
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

/// Names a layer function by what makes it distinct: its FFN width.
std::string layerFunctionName(DecoderLayerOp layer) {
  std::string name = "decoder_layer";
  layer.getBody().walk([&](NestedFfnOp ffn) {
    if (std::optional<uint64_t> width = ffn.getStaticWidth())
      name += "_ffn" + std::to_string(*width);
    else if (ffn.getDynamicWidth())
      name += "_ffn_dynamic";
  });
  return name;
}

/// `func.func private @name(%input, %captured...)` holding the layer's body.
func::FuncOp outline(DecoderLayerOp layer, ArrayRef<Value> captured) {
  OpBuilder b(layer->getParentOfType<func::FuncOp>());
  SmallVector<Type> argTypes = {layer.getInput().getType()};
  for (Value value : captured)
    argTypes.push_back(value.getType());
  auto function = func::FuncOp::create(
      b, layer.getLoc(), layerFunctionName(layer),
      b.getFunctionType(argTypes, {layer.getType()}));
  function.setPrivate();
  Block *body = function.addEntryBlock();
  IRMapping mapping;
  Block &layerBody = layer.getBody().front();
  mapping.map(layerBody.getArgument(0), body->getArgument(0));
  for (auto [value, arg] : llvm::zip(captured, body->getArguments().drop_front()))
    mapping.map(value, arg);
  b.setInsertionPointToStart(body);
  for (Operation &op : layerBody.without_terminator())
    b.clone(op, mapping);
  auto yield = cast<YieldOp>(layerBody.getTerminator());
  func::ReturnOp::create(b, yield.getLoc(),
                         mapping.lookup(yield.getValue()));
  return function;
}

/// The function as text, without its name or locations: equal text means
/// the same computation.
std::string fingerprint(func::FuncOp function) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << function.getFunctionType();
  for (Operation &op : function.getBody().front())
    op.print(os, OpPrintingFlags().useLocalScope());
  return text;
}

struct OutlineLayersPass
    : matc::impl::OutlineLayersBase<OutlineLayersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<DecoderLayerOp> layers;
    module.walk([&](DecoderLayerOp layer) { layers.push_back(layer); });
    llvm::StringMap<func::FuncOp> outlined;
    for (DecoderLayerOp layer : layers) {
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(layer.getBody(), captured);
      func::FuncOp candidate = outline(layer, captured.getArrayRef());
      std::string key = fingerprint(candidate);
      func::FuncOp &callee = outlined[key];
      if (callee) {
        candidate.erase();
      } else {
        callee = candidate;
        symbols.insert(callee); // renames on a clash: _0, _1, ...
      }
      OpBuilder b(layer);
      SmallVector<Value> operands = {layer.getInput()};
      operands.append(captured.begin(), captured.end());
      auto call = func::CallOp::create(b, layer.getLoc(), callee, operands);
      layer.replaceAllUsesWith(call.getResult(0));
      layer.erase();
    }
  }
};

} // namespace

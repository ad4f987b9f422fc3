//===- BindRuntimeAbi.cpp - @forward -> the runtime's entry point ----------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"

namespace matc {
#define GEN_PASS_DEF_BINDRUNTIMEABI
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

/// A read-only tensor view of a memref the runtime owns.
Value viewAsTensor(OpBuilder &b, Location loc, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  auto tensorType = RankedTensorType::get(type.getShape(), type.getElementType());
  return bufferization::ToTensorOp::create(b, loc, tensorType, memref,
                                           /*restrict=*/true,
                                           /*writable=*/false);
}

/// Token count, start position, tokens, logits, K cache, V cache, widths.
constexpr unsigned kFixedArguments = 7;

/// The layer reads its width from `layerWidths[index]` on every call and is
/// skipped when the width is -1.
void makeElastic(DecoderLayerOp layer, Value layerWidths) {
  OpBuilder b(layer);
  Location loc = layer.getLoc();
  Value slot = arith::ConstantIndexOp::create(b, loc, layer.getIndex());
  Value width = memref::LoadOp::create(b, loc, layerWidths, slot);
  Value widthIndex = arith::IndexCastOp::create(b, loc, b.getIndexType(), width);
  layer.getBody().walk([&](NestedFfnOp ffn) {
    ffn.removeStaticWidthAttr();
    ffn.getDynamicWidthMutable().assign(widthIndex);
  });
  Value skipped = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::slt, width,
      arith::ConstantIntOp::create(b, loc, width.getType(), 0));
  auto branch = scf::IfOp::create(b, loc, TypeRange{layer.getType()}, skipped,
                                  /*addThenBlock=*/true, /*addElseBlock=*/true);
  layer.getResult().replaceAllUsesWith(branch.getResult(0));
  OpBuilder thenBuilder = branch.getThenBodyBuilder();
  scf::YieldOp::create(thenBuilder, loc, layer.getInput());
  OpBuilder elseBuilder = branch.getElseBodyBuilder();
  auto yield = scf::YieldOp::create(elseBuilder, loc, layer.getResult());
  layer->moveBefore(yield);
}

struct BindRuntimeAbiPass
    : matc::impl::BindRuntimeAbiBase<BindRuntimeAbiPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || forward.getNumArguments() != 1 ||
        forward.getNumResults() != 1) {
      module.emitError() << "expected func.func @forward(tensor<?xi32>) -> "
                            "tensor<?xVxf32> to bind to the runtime";
      return signalPassFailure();
    }
    auto maxPositions = module->getAttrOfType<IntegerAttr>(kMaxPositionsAttrName);
    if (!maxPositions) {
      module.emitError() << "missing " << kMaxPositionsAttrName;
      return signalPassFailure();
    }
    int64_t positions = maxPositions.getInt();

    bool ok = true;
    forward.walk([&](NestedFfnOp ffn) {
      if (!elastic && !ffn.hasWidth()) {
        ffn.emitOpError() << "has no width: apply a MIX "
                             "(matformer-specialize-mix) first";
        ok = false;
      }
    });
    SmallVector<AttentionOp> attentions;
    forward.walk([&](AttentionOp op) { attentions.push_back(op); });
    llvm::MapVector<StringAttr, RankedTensorType> weights;
    forward.walk([&](GetWeightOp read) {
      weights.insert({read.getNameAttr().getAttr(), read.getType()});
    });
    if (!ok)
      return signalPassFailure();

    int64_t kvHeads = 1, headDim = 1;
    if (!attentions.empty()) {
      kvHeads = attentions.front().getNumKvHeads();
      headDim = attentions.front().getHeadDim();
    }
    auto logitsType = cast<RankedTensorType>(forward.getResultTypes()[0]);
    int64_t vocab = logitsType.getDimSize(1);
    MLIRContext *context = &getContext();
    Type f32 = Float32Type::get(context), index = IndexType::get(context);
    // K: a row per position; V: positions innermost (see matformer.attention).
    int64_t cacheLayers = static_cast<int64_t>(attentions.size());
    auto cacheType =
        MemRefType::get({cacheLayers, positions, kvHeads, headDim}, f32);
    auto vCacheType =
        MemRefType::get({cacheLayers, kvHeads, headDim, positions}, f32);
    SmallVector<DecoderLayerOp> layers;
    forward.walk([&](DecoderLayerOp layer) { layers.push_back(layer); });
    int64_t universalLayers =
        layers.empty() ? 0 : static_cast<int64_t>(layers.back().getIndex()) + 1;
    if (elastic)
      if (auto mix = module->getAttrOfType<MixAttr>(kMixAttrName)) {
        module.emitError() << "an elastic module must not be specialized, "
                              "but it has mix "
                           << mix;
        return signalPassFailure();
      }
    Type i64 = IntegerType::get(context, 64);
    SmallVector<Type> argTypes = {
        index, index, MemRefType::get({positions}, IntegerType::get(context, 32)),
        MemRefType::get({positions, vocab}, f32), cacheType, vCacheType,
        MemRefType::get({universalLayers}, i64)};
    for (auto &[name, type] : weights)
      argTypes.push_back(MemRefType::get(type.getShape(), type.getElementType()));

    OpBuilder b(context);
    b.setInsertionPoint(forward);
    Location loc = forward.getLoc();
    auto entry = func::FuncOp::create(b, loc, "matc_forward_impl",
                                      b.getFunctionType(argTypes, {}));
    Block *body = entry.addEntryBlock();
    b.setInsertionPointToStart(body);
    Value numTokens = body->getArgument(0), startPos = body->getArgument(1);
    Value tokensBuffer = body->getArgument(2), logitsBuffer = body->getArgument(3);
    Value kCache = body->getArgument(4), vCache = body->getArgument(5);
    Value layerWidths = body->getArgument(6);

    IRMapping mapping;
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    Value tokens = viewAsTensor(
        b, loc,
        memref::SubViewOp::create(b, loc, tokensBuffer, {zero}, {numTokens},
                                  {one}));
    mapping.map(forward.getArgument(0), tokens);
    llvm::DenseMap<StringAttr, Value> weightTensors;
    for (auto [i, entryWeight] : llvm::enumerate(weights))
      weightTensors[entryWeight.first] =
          viewAsTensor(b, loc, body->getArgument(kFixedArguments + i));

    for (Operation &op : forward.getBody().front().without_terminator())
      b.clone(op, mapping);
    auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
    Value logits = mapping.lookup(ret.getOperand(0));
    Value logitsView = memref::SubViewOp::create(
        b, loc, logitsBuffer, {zero, zero}, {numTokens, b.getIndexAttr(vocab)},
        {one, one});
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange(), logits, logitsView, /*restrict=*/true,
        /*writable=*/true);
    func::ReturnOp::create(b, loc);

    entry.walk([&](GetWeightOp read) {
      read.replaceAllUsesWith(weightTensors.lookup(read.getNameAttr().getAttr()));
      read.erase();
    });
    int64_t layer = 0;
    entry.walk([&](AttentionOp attention) {
      OpBuilder at(attention);
      // This layer's [*, *, *] slice of a [layers, *, *, *] cache.
      auto cacheSlice = [&](Value cache) -> Value {
        auto type = cast<MemRefType>(cache.getType());
        ArrayRef<int64_t> shape = type.getShape().drop_front();
        SmallVector<OpFoldResult> offsets = {at.getIndexAttr(layer), zero, zero, zero};
        SmallVector<OpFoldResult> sizes = {one};
        for (int64_t size : shape)
          sizes.push_back(at.getIndexAttr(size));
        SmallVector<OpFoldResult> strides(4, one);
        auto sliceType = memref::SubViewOp::inferRankReducedResultType(
            shape, type, offsets, sizes, strides);
        return memref::SubViewOp::create(at, attention.getLoc(),
                                         cast<MemRefType>(sliceType), cache,
                                         offsets, sizes, strides);
      };
      Value kSlice = cacheSlice(kCache), vSlice = cacheSlice(vCache);
      attention.getKCacheMutable().assign(kSlice);
      attention.getVCacheMutable().assign(vSlice);
      attention.getStartPosMutable().assign(startPos);
      ++layer;
    });

    if (elastic)
      entry.walk([&](DecoderLayerOp layer) { makeElastic(layer, layerWidths); });

    SmallVector<Attribute> names;
    for (auto &[name, type] : weights)
      names.push_back(name);
    module->setAttr("matformer.abi.weights", b.getArrayAttr(names));
    if (elastic)
      module->setAttr("matformer.abi.elastic", b.getUnitAttr());
    forward.erase();
    for (WeightOp weight : llvm::make_early_inc_range(module.getOps<WeightOp>()))
      weight.erase();
  }
};

} // namespace

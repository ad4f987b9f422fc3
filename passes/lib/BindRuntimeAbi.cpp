//===- BindRuntimeAbi.cpp - @forward -> the runtime's entry point ----------===//
//
// The entry point's arguments are spelled once, in matc/abi/ModelAbi.h; this
// pass builds them from that table and tags each with its name
// (`matformer.abi_arg`), so later stages find them by name.
//
//===----------------------------------------------------------------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"
#include "matc/abi/ModelAbi.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace matc {
#define GEN_PASS_DEF_BINDRUNTIMEABI
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;
namespace abi = matc::abi;

namespace {

/// A read-only tensor view of a memref the runtime owns.
Value viewAsTensor(OpBuilder &b, Location loc, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  auto tensorType = RankedTensorType::get(type.getShape(), type.getElementType());
  return bufferization::ToTensorOp::create(b, loc, tensorType, memref,
                                           /*restrict=*/true,
                                           /*writable=*/false);
}

/// The layer reads its width from `layerWidths[index]` on every call and is
/// skipped when the width is kSkippedLayerWidth.
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

/// Gives each attention its layer's slot of the [slots, ...] caches. The
/// slot number is an SSA value defined before the layer, so layers differ
/// only in the values they capture and outline into one function.
void bindCaches(func::FuncOp entry, Value kCache, Value vCache,
                Value startPos) {
  int64_t slot = 0;
  entry.walk([&](AttentionOp attention) {
    Operation *anchor = attention;
    if (auto layer = attention->getParentOfType<DecoderLayerOp>())
      anchor = layer;
    OpBuilder before(anchor);
    Value slotValue =
        arith::ConstantIndexOp::create(before, attention.getLoc(), slot++);
    OpBuilder at(attention);
    auto cacheSlice = [&](Value cache) -> Value {
      auto type = cast<MemRefType>(cache.getType());
      ArrayRef<int64_t> shape = type.getShape().drop_front();
      OpFoldResult zero = at.getIndexAttr(0), one = at.getIndexAttr(1);
      SmallVector<OpFoldResult> offsets = {slotValue, zero, zero, zero};
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
    attention.getKCacheMutable().assign(cacheSlice(kCache));
    attention.getVCacheMutable().assign(cacheSlice(vCache));
    attention.getStartPosMutable().assign(startPos);
  });
}

/// The LM head (and the final norm before it) runs on the last `numLogits`
/// rows only: generation needs one row, scoring every row.
Value keepLastRows(OpBuilder &b, LmHeadOp head, Value numTokens,
                   Value numLogits) {
  Value rows = head.getInput();
  auto norm = rows.getDefiningOp<RmsNormOp>();
  if (norm && norm->hasOneUse())
    rows = norm.getInput();
  Location loc = head.getLoc();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfterValue(rows);
  auto type = cast<RankedTensorType>(rows.getType());
  Value first = arith::SubIOp::create(b, loc, numTokens, numLogits);
  Value kept = tensor::ExtractSliceOp::create(
      b, loc, rows, {OpFoldResult(first), b.getIndexAttr(0)},
      {OpFoldResult(numLogits), b.getIndexAttr(type.getDimSize(1))},
      {b.getIndexAttr(1), b.getIndexAttr(1)});
  rows.replaceUsesWithIf(kept, [&](OpOperand &use) {
    return use.getOwner() == head || use.getOwner() == norm;
  });
  return head.getResult();
}

/// `func.func @name` taking the arguments of `signature` in its order,
/// each tagged `matformer.abi_arg`, and the forward's weights (tagged with
/// their checkpoint names) in place of the weight table. Buffers are typed
/// by `buffers`.
func::FuncOp createEntry(OpBuilder &b, func::FuncOp forward, StringRef name,
                         ArrayRef<abi::Arg> signature,
                         const llvm::StringMap<Type> &buffers) {
  MLIRContext *context = b.getContext();
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  auto tag = [&](StringRef key, Attribute value) {
    return DictionaryAttr::get(context, {b.getNamedAttr(key, value)});
  };
  for (const abi::Arg &arg : signature) {
    if (arg.kind == abi::ArgKind::WeightTable) {
      for (unsigned i = 1; i < forward.getNumArguments(); ++i) {
        auto type = cast<RankedTensorType>(forward.getArgumentTypes()[i]);
        argTypes.push_back(MemRefType::get(type.getShape(), type.getElementType()));
        argAttrs.push_back(tag(kWeightAttrName, forward.getArgAttr(i, kWeightAttrName)));
      }
      continue;
    }
    argTypes.push_back(arg.kind == abi::ArgKind::Index ? b.getIndexType()
                                                       : buffers.lookup(arg.name));
    argAttrs.push_back(tag(kAbiArgAttrName, b.getStringAttr(arg.name)));
  }
  auto entry = func::FuncOp::create(b, forward.getLoc(), name,
                                    b.getFunctionType(argTypes, {}));
  entry.setAllArgAttrs(argAttrs);
  entry.addEntryBlock();
  return entry;
}

/// The argument of `entry` tagged `matformer.abi_arg = name`.
Value entryArgument(func::FuncOp entry, StringRef name) {
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    if (auto role = entry.getArgAttrOfType<StringAttr>(i, kAbiArgAttrName);
        role && role.getValue() == name)
      return entry.getArgument(i);
  return nullptr;
}

/// Clones the forward's body into `entry` on the tokens `tokens` (a tensor)
/// and the entry's weights; returns the mapping.
IRMapping cloneForward(OpBuilder &b, func::FuncOp forward, func::FuncOp entry,
                       Value tokens) {
  IRMapping mapping;
  mapping.map(forward.getArgument(0), tokens);
  Location loc = forward.getLoc();
  unsigned weight = 1;
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    if (!entry.getArgAttr(i, kWeightAttrName))
      continue;
    mapping.map(forward.getArgument(weight++),
                viewAsTensor(b, loc, entry.getArgument(i)));
  }
  for (Operation &op : forward.getBody().front().without_terminator())
    b.clone(op, mapping);
  return mapping;
}

/// tokens[offset, offset + size) of the runtime's token buffer, as a tensor.
Value tokenWindow(OpBuilder &b, Location loc, Value tokens, OpFoldResult offset,
                  OpFoldResult size) {
  return viewAsTensor(b, loc,
                      memref::SubViewOp::create(b, loc, tokens, {offset}, {size},
                                                {b.getIndexAttr(1)}));
}

/// matc_model_forward: the logits of the last num_logits rows.
void buildForwardBody(OpBuilder &b, func::FuncOp forward, func::FuncOp entry,
                      LmHeadOp head, int64_t vocab) {
  Location loc = forward.getLoc();
  b.setInsertionPointToStart(&entry.getBody().front());
  Value numTokens = entryArgument(entry, "num_tokens"),
        numLogits = entryArgument(entry, "num_logits");
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  IRMapping mapping = cloneForward(
      b, forward, entry,
      tokenWindow(b, loc, entryArgument(entry, "tokens"), zero, numTokens));
  auto clonedHead = cast<LmHeadOp>(mapping.lookup(head.getResult()).getDefiningOp());
  Value logits = keepLastRows(b, clonedHead, numTokens, numLogits);
  Value logitsView = memref::SubViewOp::create(
      b, loc, entryArgument(entry, "logits"), {zero, zero},
      {numLogits, b.getIndexAttr(vocab)}, {one, one});
  bufferization::MaterializeInDestinationOp::create(
      b, loc, TypeRange(), logits, logitsView, /*restrict=*/true,
      /*writable=*/true);
  func::ReturnOp::create(b, loc);
  bindCaches(entry, entryArgument(entry, "k_cache"),
             entryArgument(entry, "v_cache"), entryArgument(entry, "start_pos"));
}

/// matc_model_loss: every row through the LM head, then the summed cross
/// entropy against the next tokens, from position 0 (the caches are scratch).
void buildLossBody(OpBuilder &b, func::FuncOp forward, func::FuncOp entry,
                   LmHeadOp head) {
  Location loc = forward.getLoc();
  b.setInsertionPointToStart(&entry.getBody().front());
  Value numTokens = entryArgument(entry, "num_tokens");
  Value tokens = entryArgument(entry, "tokens");
  Value startPos = arith::ConstantIndexOp::create(b, loc, 0);
  IRMapping mapping = cloneForward(
      b, forward, entry, tokenWindow(b, loc, tokens, b.getIndexAttr(0), numTokens));
  Value targets = tokenWindow(b, loc, tokens, b.getIndexAttr(1), numTokens);
  Value logits = mapping.lookup(head.getResult());
  Value loss = CrossEntropyOp::create(
      b, loc, RankedTensorType::get({}, b.getF32Type()), logits, targets,
      LossReduction::sum);
  Value asVector = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({1}, b.getF32Type()), loss,
      ArrayRef<ReassociationIndices>{});
  bufferization::MaterializeInDestinationOp::create(
      b, loc, TypeRange(), asVector, entryArgument(entry, "loss"),
      /*restrict=*/true, /*writable=*/true);
  func::ReturnOp::create(b, loc);
  bindCaches(entry, entryArgument(entry, "k_cache"),
             entryArgument(entry, "v_cache"), startPos);
}

struct BindRuntimeAbiPass
    : matc::impl::BindRuntimeAbiBase<BindRuntimeAbiPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || forward.getNumArguments() < 1 ||
        forward.getNumResults() != 1 ||
        !isa<RankedTensorType>(forward.getResultTypes()[0])) {
      module.emitError() << "expected func.func @forward(tensor<?xi32>, "
                            "weights...) -> tensor<?xVxf32> to bind to the "
                            "runtime";
      return signalPassFailure();
    }
    for (unsigned i = 1; i < forward.getNumArguments(); ++i)
      if (!forward.getArgAttr(i, kWeightAttrName)) {
        forward.emitOpError()
            << "argument " << i << " is not a weight (matformer.weight); "
            << "run matformer-weights-to-arguments first";
        return signalPassFailure();
      }
    if (!forward.getBody().front().getOps<GetWeightOp>().empty() ||
        !module.getOps<WeightOp>().empty()) {
      forward.emitOpError() << "still reads weights by symbol; run "
                               "matformer-weights-to-arguments first";
      return signalPassFailure();
    }
    auto maxPositions = module->getAttrOfType<IntegerAttr>(kMaxPositionsAttrName);
    if (!maxPositions) {
      module.emitError() << "missing " << kMaxPositionsAttrName;
      return signalPassFailure();
    }
    int64_t positions = maxPositions.getInt();
    bool elastic = forward->hasAttr(kElasticAttrName);
    auto mix = forward->getAttrOfType<MixAttr>(kMixAttrName);
    if (elastic && mix) {
      forward.emitOpError() << "is elastic, so it must not be specialized, "
                               "but it has mix "
                            << mix;
      return signalPassFailure();
    }

    bool ok = true;
    forward.walk([&](NestedFfnOp ffn) {
      if (!elastic && !ffn.hasWidth()) {
        ffn.emitOpError() << "has no width: give the function a "
                             "matformer.mix and run matformer-specialize-mix, "
                             "or mark it matformer.elastic";
        ok = false;
      }
    });
    SmallVector<AttentionOp> attentions;
    forward.walk([&](AttentionOp op) { attentions.push_back(op); });
    SmallVector<DecoderLayerOp> layers;
    forward.walk([&](DecoderLayerOp layer) { layers.push_back(layer); });
    auto returnOp = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
    auto head = returnOp.getOperand(0).getDefiningOp<LmHeadOp>();
    if (!head) {
      forward.emitOpError() << "must return the result of matformer.lm_head";
      ok = false;
    }
    if (!ok)
      return signalPassFailure();

    int64_t kvHeads = 1, headDim = 1;
    if (!attentions.empty()) {
      kvHeads = attentions.front().getNumKvHeads();
      headDim = attentions.front().getHeadDim();
    }
    int64_t vocab = cast<RankedTensorType>(forward.getResultTypes()[0]).getDimSize(1);
    // One layer_widths entry per layer of the universal model.
    int64_t universalLayers =
        mix ? static_cast<int64_t>(mix.getLayers().size())
        : layers.empty() ? 0
                         : static_cast<int64_t>(layers.back().getIndex()) + 1;
    OpBuilder b(&getContext());
    Type f32 = b.getF32Type();
    int64_t cacheSlots = static_cast<int64_t>(attentions.size());
    // K: a row per position; V: positions innermost (see matformer.attention).
    llvm::StringMap<Type> buffers = {
        {"tokens", MemRefType::get({positions}, b.getI32Type())},
        {"logits", MemRefType::get({positions, vocab}, f32)},
        {"k_cache", MemRefType::get({cacheSlots, positions, kvHeads, headDim}, f32)},
        {"v_cache", MemRefType::get({cacheSlots, kvHeads, headDim, positions}, f32)},
        {"layer_widths", MemRefType::get({universalLayers}, b.getI64Type())}};

    Type i32 = b.getI32Type();
    // matc_model_loss reads num_tokens + 1 tokens and writes one float.
    llvm::StringMap<Type> lossBuffers = buffers;
    lossBuffers["tokens"] = MemRefType::get({positions + 1}, i32);
    lossBuffers["loss"] = MemRefType::get({1}, f32);

    b.setInsertionPoint(forward);
    func::FuncOp entry =
        createEntry(b, forward, "matc_forward_impl", abi::kForwardArgs, buffers);
    func::FuncOp lossEntry =
        createEntry(b, forward, "matc_loss_impl", abi::kLossArgs, lossBuffers);
    for (func::FuncOp function : {entry, lossEntry}) {
      if (mix)
        function->setAttr(kMixAttrName, mix);
      if (elastic)
        function->setAttr(kElasticAttrName, b.getUnitAttr());
    }
    buildForwardBody(b, forward, entry, head, vocab);
    buildLossBody(b, forward, lossEntry, head);

    if (elastic) {
      for (func::FuncOp function : {entry, lossEntry}) {
        Value layerWidths = entryArgument(function, "layer_widths");
        function.walk(
            [&](DecoderLayerOp layer) { makeElastic(layer, layerWidths); });
      }
    }
    forward.erase();
  }
};

} // namespace

//===- ImportSpec.cpp - model spec -> matformer IR -------------------------===//
#include "matc/Codegen/ImportSpec.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/spec/CheckpointNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace matc::matformer;
using matc::spec::Tensor;
using matc::spec::tensorName;

namespace {

/// Emits the model one op at a time, declaring each weight on first use.
class ModelImporter {
public:
  ModelImporter(MLIRContext &context, const matc::spec::ModelSpec &spec,
                const matc::ImportOptions &options)
      : spec(spec), builder(&context),
        specLoc(FileLineColLoc::get(&context, options.sourceName, 1, 1)),
        weightType(options.bf16Weights ? Type(builder.getBF16Type())
                                       : Type(builder.getF32Type())) {}

  OwningOpRef<ModuleOp> run() {
    module = ModuleOp::create(specLoc);
    module.get()->setAttr(kMaxPositionsAttrName,
                          builder.getI64IntegerAttr(spec.maxPositions));
    int64_t hidden = spec.hiddenSize;
    auto tokensType = RankedTensorType::get({ShapedType::kDynamic},
                                            builder.getI32Type());
    auto logitsType = activations(spec.vocabSize);
    builder.setInsertionPointToEnd(module->getBody());
    forward = func::FuncOp::create(
        builder, specLoc, "forward",
        builder.getFunctionType({tokensType}, {logitsType}));
    Block *entry = forward.addEntryBlock();
    builder.setInsertionPointToStart(entry);

    Location embedLoc = named("model.embed_tokens");
    Value table = weight(tensorName(Tensor::Embedding),
                         {spec.vocabSize, hidden}, embedLoc);
    Value state = EmbedOp::create(builder, embedLoc, activations(hidden),
                                  entry->getArgument(0), table);
    for (int64_t layer = 0; layer < spec.numLayers; ++layer)
      state = decoderLayer(layer, state);

    Location headLoc = named("lm_head");
    Value normed = rmsNorm(state, tensorName(Tensor::FinalNorm), named("model.norm"));
    Value head = spec.tieWordEmbeddings
                     ? table
                     : weight(tensorName(Tensor::LmHead), {spec.vocabSize, hidden},
                              headLoc);
    Value logits = LmHeadOp::create(builder, headLoc, logitsType, normed, head);
    func::ReturnOp::create(builder, headLoc, logits);
    return std::move(module);
  }

private:
  RankedTensorType activations(int64_t features) {
    return RankedTensorType::get({ShapedType::kDynamic, features},
                                 builder.getF32Type());
  }

  Location named(const std::string &name) {
    return NameLoc::get(builder.getStringAttr(name), specLoc);
  }

  /// Declares the checkpoint tensor `name` at module level and reads it here.
  Value weight(const std::string &name, ArrayRef<int64_t> shape,
               Location loc) {
    auto type = RankedTensorType::get(shape, weightType);
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPoint(forward);
      WeightOp::create(builder, named(name), name, type);
    }
    return GetWeightOp::create(builder, loc, type, name);
  }

  Value rmsNorm(Value input, const std::string &weightName, Location loc) {
    Value scale = weight(weightName, {spec.hiddenSize}, loc);
    return RmsNormOp::create(builder, loc, input.getType(), input, scale,
                             builder.getF64FloatAttr(spec.rmsNormEps));
  }

  Value decoderLayer(int64_t layer, Value input) {
    std::string prefix = matc::spec::layerPrefix(layer) + ".";
    Location loc = named(matc::spec::layerPrefix(layer));
    auto op = DecoderLayerOp::create(builder, loc, input.getType(), input,
                                     builder.getI64IntegerAttr(layer));
    OpBuilder::InsertionGuard guard(builder);
    Block *body = builder.createBlock(&op.getBody(), {}, {input.getType()},
                                      {loc});
    Value x = body->getArgument(0);

    int64_t hidden = spec.hiddenSize, qDim = spec.numHeads * spec.headDim,
            kvDim = spec.numKvHeads * spec.headDim;
    Location attnLoc = named(prefix + "self_attn");
    Value normed = rmsNorm(x, tensorName(Tensor::InputNorm, layer),
                           named(prefix + "input_layernorm"));
    // One statement per weight: declarations follow the checkpoint's order.
    Value wq = weight(tensorName(Tensor::QProj, layer), {qDim, hidden}, attnLoc);
    Value wk = weight(tensorName(Tensor::KProj, layer), {kvDim, hidden}, attnLoc);
    Value wv = weight(tensorName(Tensor::VProj, layer), {kvDim, hidden}, attnLoc);
    Value wo = weight(tensorName(Tensor::OProj, layer), {hidden, qDim}, attnLoc);
    Value attention = AttentionOp::create(
        builder, attnLoc, normed.getType(), normed, wq, wk, wv, wo,
        /*k_cache=*/Value(), /*v_cache=*/Value(), /*start_pos=*/Value(),
        builder.getI64IntegerAttr(spec.numHeads),
        builder.getI64IntegerAttr(spec.numKvHeads),
        builder.getI64IntegerAttr(spec.headDim),
        builder.getF64FloatAttr(spec.ropeTheta));
    Value state = arith::AddFOp::create(builder, attnLoc, x, attention);

    int64_t dff = spec.intermediateSize[layer];
    if (dff > 0) {
      Location mlpLoc = named(prefix + "mlp");
      Value ffnIn = rmsNorm(state, tensorName(Tensor::PostAttentionNorm, layer),
                            named(prefix + "post_attention_layernorm"));
      GranularitiesAttr granularities;
      if (!spec.granularities.empty() && !spec.perLayerIntermediate)
        granularities = GranularitiesAttr::get(builder.getContext(),
                                               spec.granularities);
      Activation act = spec.act == matc::spec::Activation::Silu
                           ? Activation::silu
                           : Activation::gelu_tanh;
      Value gate = weight(tensorName(Tensor::GateProj, layer), {dff, hidden}, mlpLoc);
      Value up = weight(tensorName(Tensor::UpProj, layer), {dff, hidden}, mlpLoc);
      Value down = weight(tensorName(Tensor::DownProj, layer), {hidden, dff}, mlpLoc);
      Value ffn = NestedFfnOp::create(
          builder, mlpLoc, ffnIn.getType(), ffnIn, gate, up, down,
          /*dynamic_width=*/Value(),
          ActivationAttr::get(builder.getContext(), act), granularities,
          /*static_width=*/IntegerAttr());
      state = arith::AddFOp::create(builder, mlpLoc, state, ffn);
    }
    YieldOp::create(builder, loc, state);
    return op.getResult();
  }

  const matc::spec::ModelSpec &spec;
  OpBuilder builder;
  Location specLoc;
  Type weightType;
  OwningOpRef<ModuleOp> module;
  /// Weights are declared before it, in the order the model reads them.
  func::FuncOp forward;
};

} // namespace

OwningOpRef<ModuleOp> matc::importModelSpec(MLIRContext &context,
                                            const spec::ModelSpec &spec,
                                            const ImportOptions &options) {
  context.loadDialect<MatFormerDialect, arith::ArithDialect,
                      func::FuncDialect>();
  return ModelImporter(context, spec, options).run();
}

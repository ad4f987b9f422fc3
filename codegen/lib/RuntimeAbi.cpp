//===- RuntimeAbi.cpp - what a compiled model exports to matrt -------------===//
#include "matc/Codegen/RuntimeAbi.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/spec/Mix.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

#include <nlohmann/json.hpp>

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kImplName = "matc_forward_impl";
// Token count, start position, tokens, logits, K cache, V cache, widths.
constexpr unsigned kFixedArguments = 7;
} // namespace

FailureOr<matc::ModelAbi> matc::readModelAbi(ModuleOp module) {
  auto impl = module.lookupSymbol<func::FuncOp>(kImplName);
  auto names = module->getAttrOfType<ArrayAttr>("matformer.abi.weights");
  if (!impl || !names ||
      impl.getNumArguments() != kFixedArguments + names.size())
    return module.emitError() << "expected @" << kImplName
                              << " from matformer-bind-runtime-abi";
  ModelAbi abi;
  abi.elastic = module->hasAttr("matformer.abi.elastic");
  auto logits = cast<MemRefType>(impl.getArgumentTypes()[3]);
  auto cache = cast<MemRefType>(impl.getArgumentTypes()[4]);
  abi.vocabSize = logits.getDimSize(1);
  abi.cacheLayers = cache.getDimSize(0);
  abi.maxPositions = cache.getDimSize(1);
  abi.kvHeads = cache.getDimSize(2);
  abi.headDim = cache.getDimSize(3);
  for (auto [i, name] : llvm::enumerate(names.getAsRange<StringAttr>())) {
    auto type = cast<MemRefType>(impl.getArgumentTypes()[kFixedArguments + i]);
    abi.weights.push_back(
        {name.str(), std::vector<int64_t>(type.getShape().begin(), type.getShape().end())});
    abi.bf16Weights |= type.getElementType().isBF16();
  }
  if (abi.elastic) {
    abi.mix = "elastic";
  } else if (auto mix = module->getAttrOfType<matformer::MixAttr>(
                 matformer::kMixAttrName)) {
    spec::Mix choice;
    for (int64_t width : mix.getLayers())
      choice.push_back(width == matformer::MixAttr::kSkip
                           ? spec::LayerChoice{true, 0}
                           : spec::LayerChoice{false, width});
    abi.mix = spec::formatMix(choice);
  }
  return abi;
}

std::string matc::buildManifest(const ModelAbi &abi,
                                const spec::ModelSpec &spec) {
  nlohmann::ordered_json manifest;
  // runtime/include/matrt/ModelAbi.h's kModelAbiVersion: bump both together.
  // 2: matc_model_forward takes layer_widths.
  manifest["matc_abi"] = 2;
  manifest["config"] = nlohmann::json::parse(spec.toJson(), nullptr, false);
  manifest["mix"] = abi.mix;
  manifest["elastic"] = abi.elastic;
  manifest["weight_dtype"] = abi.bf16Weights ? "BF16" : "F32";
  nlohmann::ordered_json weights = nlohmann::ordered_json::array();
  for (const AbiWeight &weight : abi.weights)
    weights.push_back({{"name", weight.name}, {"shape", weight.shape}});
  manifest["weights"] = weights;
  // A mix that skips every layer has no attention to read the cache shape
  // from; the (empty) cache still has the spec's.
  bool noLayers = abi.cacheLayers == 0;
  manifest["kv_cache"] = {{"layers", abi.cacheLayers},
                          {"max_positions", abi.maxPositions},
                          {"kv_heads", noLayers ? spec.numKvHeads : abi.kvHeads},
                          {"head_dim", noLayers ? spec.headDim : abi.headDim}};
  manifest["vocab_size"] = abi.vocabSize;
  manifest["max_positions"] = abi.maxPositions;
  return manifest.dump();
}

LogicalResult matc::addRuntimeEntry(ModuleOp module, const ModelAbi &abi,
                                    const std::string &manifest) {
  auto impl = module.lookupSymbol<LLVM::LLVMFuncOp>(kImplName);
  if (!impl)
    return module.emitError() << "expected llvm.func @" << kImplName;
  MLIRContext *context = module.getContext();
  OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  Location loc = impl.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  impl.setLinkage(LLVM::Linkage::Internal);

  // void matc_model_forward(i64 num_tokens, i64 start_pos, ptr tokens,
  //                         ptr logits, ptr k_cache, ptr v_cache,
  //                         ptr weights, ptr layer_widths)
  auto entryType = LLVM::LLVMFunctionType::get(
      LLVM::LLVMVoidType::get(context),
      {i64, i64, ptr, ptr, ptr, ptr, ptr, ptr});
  auto entry = LLVM::LLVMFuncOp::create(b, loc, "matc_model_forward", entryType);
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  SmallVector<Value> arguments(body->getArguments().take_front(6));
  arguments.push_back(body->getArgument(7)); // layer_widths
  Value table = body->getArgument(6);
  for (size_t i = 0; i < abi.weights.size(); ++i) {
    Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, table,
                                     ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
    arguments.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
  }
  LLVM::CallOp::create(b, loc, impl, arguments);
  LLVM::ReturnOp::create(b, loc, ValueRange());

  b.setInsertionPointToEnd(module.getBody());
  std::string text = manifest + '\0';
  auto textType = LLVM::LLVMArrayType::get(IntegerType::get(context, 8),
                                           text.size());
  LLVM::GlobalOp::create(b, loc, textType, /*isConstant=*/true,
                         LLVM::Linkage::External, "matc_model_manifest",
                         b.getStringAttr(text));
  return success();
}

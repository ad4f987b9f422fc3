//===- RuntimeAbi.cpp - what a compiled model exports to matrt -------------===//
#include "matc/Codegen/RuntimeAbi.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/abi/ModelAbi.h"
#include "matc/spec/Mix.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

#include <nlohmann/json.hpp>

using namespace mlir;
namespace abi = matc::abi;

namespace {
/// The generated functions behind the exported ones (named by
/// matformer-bind-runtime-abi and matformer-bind-training-abi). The first
/// two are in every binary; the others with --train.
struct EntryName {
  const char *implName;
  const char *symbol;
  llvm::ArrayRef<abi::Arg> signature;
  bool required;
};
const EntryName kEntryNames[] = {
    {"matc_forward_impl", abi::kForwardSymbol, abi::kForwardArgs, true},
    {"matc_loss_impl", abi::kLossSymbol, abi::kLossArgs, true},
    {"matc_train_step_impl", abi::kTrainStepSymbol, abi::kTrainStepArgs, false},
    {"matc_grad_squared_norm_impl", abi::kGradSquaredNormSymbol,
     abi::kGradSquaredNormArgs, false},
    {"matc_adamw_step_impl", abi::kAdamWStepSymbol, abi::kAdamWStepArgs, false},
};

std::string dtypeName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isBF16())
    return "bf16";
  if (type.isF16())
    return "f16";
  if (type.isInteger(32))
    return "i32";
  if (type.isInteger(64))
    return "i64";
  return "?";
}

/// Reads the arguments of `impl` and checks them against `signature`: every
/// scalar and buffer by name, in order; a table as the run of arguments
/// tagged with its name (the forward's weights carry no table tag).
FailureOr<std::vector<matc::AbiArgument>>
readEntryArguments(func::FuncOp impl, llvm::ArrayRef<abi::Arg> signature) {
  std::vector<matc::AbiArgument> arguments;
  using Kind = matc::AbiArgument::Kind;
  for (auto [i, type] : llvm::enumerate(impl.getArgumentTypes())) {
    matc::AbiArgument argument;
    auto role = impl.getArgAttrOfType<StringAttr>(i, matc::matformer::kAbiArgAttrName);
    if (auto weight = impl.getArgAttrOfType<StringAttr>(i, matc::matformer::kWeightAttrName)) {
      argument.kind = Kind::Weight;
      argument.name = weight.str();
      argument.table = role ? role.str() : "weights";
    } else if (role) {
      argument.kind = isa<IndexType>(type) ? Kind::Index : Kind::Buffer;
      argument.name = role.str();
    } else {
      return impl.emitOpError() << "argument " << i
                                << " has neither matformer.abi_arg nor "
                                   "matformer.weight";
    }
    if (auto memref = dyn_cast<MemRefType>(type)) {
      if (!memref.hasStaticShape() || !memref.getLayout().isIdentity())
        return impl.emitOpError() << "argument " << i << " ('" << argument.name
                                  << "') must be a static, contiguous memref";
      argument.dtype = dtypeName(memref.getElementType());
      argument.shape.assign(memref.getShape().begin(), memref.getShape().end());
    } else if (!isa<IndexType>(type)) {
      return impl.emitOpError() << "argument " << i << " ('" << argument.name
                                << "') must be an index or a memref";
    }
    arguments.push_back(std::move(argument));
  }
  size_t next = 0;
  for (const abi::Arg &expected : signature) {
    if (expected.kind == abi::ArgKind::WeightTable) {
      while (next < arguments.size() && arguments[next].kind == Kind::Weight &&
             arguments[next].table == expected.name)
        ++next;
      continue;
    }
    if (next >= arguments.size() || arguments[next].name != expected.name)
      return impl.emitOpError() << "argument " << next << " should be '"
                                << expected.name << "' (matc/abi/ModelAbi.h)";
    ++next;
  }
  if (next != arguments.size())
    return impl.emitOpError() << "has " << arguments.size() - next
                              << " arguments the ABI does not list";
  return arguments;
}
} // namespace

const matc::AbiArgument *matc::ModelAbi::buffer(llvm::StringRef name) const {
  for (const AbiArgument &argument : arguments)
    if (argument.kind == AbiArgument::Kind::Buffer && argument.name == name)
      return &argument;
  return nullptr;
}

FailureOr<matc::ModelAbi> matc::readModelAbi(ModuleOp module) {
  ModelAbi abi;
  for (const EntryName &name : kEntryNames) {
    auto impl = module.lookupSymbol<func::FuncOp>(name.implName);
    if (!impl) {
      if (name.required)
        return module.emitError() << "expected @" << name.implName
                                  << " from matformer-bind-runtime-abi";
      continue;
    }
    FailureOr<std::vector<AbiArgument>> arguments =
        readEntryArguments(impl, name.signature);
    if (failed(arguments))
      return failure();
    abi.entries.push_back(
        EntryPoint{name.implName, name.symbol, name.signature, *arguments});
  }
  abi.train = abi.entries.size() == std::size(kEntryNames);
  if (!abi.train && abi.entries.size() != 2)
    return module.emitError() << "has some of the training entry points but "
                                 "not all (matformer-bind-training-abi)";
  abi.arguments = abi.entries.front().arguments;
  for (const AbiArgument &argument : abi.arguments)
    if (argument.kind == AbiArgument::Kind::Weight)
      abi.bf16Weights |= argument.dtype == "bf16";
  auto impl = module.lookupSymbol<func::FuncOp>(kEntryNames[0].implName);
  const AbiArgument *logits = abi.buffer("logits");
  abi.maxPositions = logits->shape[0];
  abi.vocabSize = logits->shape[1];
  abi.elastic = impl->hasAttr(matformer::kElasticAttrName);
  if (abi.elastic) {
    abi.mix = "elastic";
  } else if (auto mix = impl->getAttrOfType<matformer::MixAttr>(
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
  manifest["matc_abi"] = abi::kVersion;
  manifest["config"] = nlohmann::json::parse(spec.toJson(), nullptr, false);
  manifest["mix"] = abi.mix;
  manifest["elastic"] = abi.elastic;
  manifest["weight_dtype"] = abi.bf16Weights ? "BF16" : "F32";
  nlohmann::ordered_json weights = nlohmann::ordered_json::array();
  nlohmann::ordered_json buffers = nlohmann::ordered_json::object();
  for (const AbiArgument &argument : abi.arguments) {
    if (argument.kind == AbiArgument::Kind::Weight)
      weights.push_back({{"name", argument.name}, {"shape", argument.shape}});
    else if (argument.kind == AbiArgument::Kind::Buffer)
      buffers[argument.name] = {{"dtype", argument.dtype},
                                {"shape", argument.shape}};
  }
  manifest["weights"] = weights;
  manifest["buffers"] = buffers;
  manifest["vocab_size"] = abi.vocabSize;
  manifest["max_positions"] = abi.maxPositions;
  if (abi.train)
    manifest["train"] = true;
  return manifest.dump();
}

/// The exported C function for `entry`: i64 for an index, a pointer for a
/// buffer or a table; it calls the lowered implementation with each
/// contiguous memref's descriptor expanded as the default calling
/// convention passes it (allocated, aligned, offset, sizes, strides).
/// `placement`, when there is one, decides where each buffer lives.
static LogicalResult addEntryWrapper(ModuleOp module,
                                     const matc::EntryPoint &entryPoint,
                                     matc::BufferPlacement *placement) {
  auto impl = module.lookupSymbol<LLVM::LLVMFuncOp>(entryPoint.implName);
  if (!impl)
    return module.emitError() << "expected llvm.func @" << entryPoint.implName;
  MLIRContext *context = module.getContext();
  OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  Location loc = impl.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  impl.setLinkage(LLVM::Linkage::Internal);
  // The names served the ABI; LLVM has no use for them.
  for (unsigned i = 0; i < impl.getNumArguments(); ++i) {
    impl.removeArgAttr(i, matc::matformer::kAbiArgAttrName);
    impl.removeArgAttr(i, matc::matformer::kWeightAttrName);
  }

  SmallVector<Type> parameters;
  llvm::StringMap<unsigned> position;
  for (const abi::Arg &arg : entryPoint.signature) {
    position[arg.name] = parameters.size();
    parameters.push_back(arg.kind == abi::ArgKind::Index ? Type(i64) : Type(ptr));
  }
  auto entry = LLVM::LLVMFuncOp::create(
      b, loc, entryPoint.symbol,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), parameters));
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  if (placement)
    placement->begin(b, loc, body);
  auto constant = [&](int64_t value) -> Value {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(value));
  };
  SmallVector<Value> operands;
  auto pushDescriptor = [&](Value data, ArrayRef<int64_t> shape) {
    operands.append({data, data, constant(0)});
    for (int64_t size : shape)
      operands.push_back(constant(size));
    int64_t stride = 1;
    SmallVector<Value> strides(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
      strides[d] = constant(stride);
      stride *= shape[d];
    }
    operands.append(strides.begin(), strides.end());
  };
  llvm::StringMap<int32_t> nextInTable;
  for (const matc::AbiArgument &argument : entryPoint.arguments) {
    using Kind = matc::AbiArgument::Kind;
    switch (argument.kind) {
    case Kind::Index:
      operands.push_back(body->getArgument(position.lookup(argument.name)));
      break;
    case Kind::Buffer: {
      Value pointer = body->getArgument(position.lookup(argument.name));
      if (placement)
        pointer = placement->place(b, loc, argument, pointer, body);
      pushDescriptor(pointer, argument.shape);
      break;
    }
    case Kind::Weight: {
      Value table = body->getArgument(position.lookup(argument.table));
      Value slot = LLVM::GEPOp::create(
          b, loc, ptr, ptr, table,
          ArrayRef<LLVM::GEPArg>{nextInTable[argument.table]++});
      Value pointer = LLVM::LoadOp::create(b, loc, ptr, slot);
      if (placement)
        pointer = placement->place(b, loc, argument, pointer, body);
      pushDescriptor(pointer, argument.shape);
      break;
    }
    }
  }
  if (operands.size() != impl.getNumArguments())
    return impl.emitOpError() << "takes " << impl.getNumArguments()
                              << " values, but the ABI unpacks "
                              << operands.size();
  LLVM::CallOp::create(b, loc, impl, operands);
  if (placement)
    placement->end(b, loc, body);
  LLVM::ReturnOp::create(b, loc, ValueRange());
  return success();
}

LogicalResult matc::addRuntimeEntry(ModuleOp module, const ModelAbi &abi,
                                    const std::string &manifest,
                                    BufferPlacement *placement) {
  for (const EntryPoint &entry : abi.entries) {
    // A placement knows matc_model_forward's buffers only.
    if (placement && entry.symbol != abi::kForwardSymbol)
      return module.emitError()
             << "the device buffer placement maps " << abi::kForwardSymbol
             << " only, not " << entry.symbol;
    if (failed(addEntryWrapper(module, entry, placement)))
      return failure();
  }
  MLIRContext *context = module.getContext();
  OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  std::string text = manifest + '\0';
  auto textType = LLVM::LLVMArrayType::get(IntegerType::get(context, 8),
                                           text.size());
  LLVM::GlobalOp::create(b, module.getLoc(), textType, /*isConstant=*/true,
                         LLVM::Linkage::External, abi::kManifestSymbol,
                         b.getStringAttr(text));
  return success();
}

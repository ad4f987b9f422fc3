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
constexpr llvm::StringLiteral kImplName = "matc_forward_impl";

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
} // namespace

const matc::AbiArgument *matc::ModelAbi::buffer(llvm::StringRef name) const {
  for (const AbiArgument &argument : arguments)
    if (argument.kind == AbiArgument::Kind::Buffer && argument.name == name)
      return &argument;
  return nullptr;
}

FailureOr<matc::ModelAbi> matc::readModelAbi(ModuleOp module) {
  auto impl = module.lookupSymbol<func::FuncOp>(kImplName);
  if (!impl)
    return module.emitError() << "expected @" << kImplName
                              << " from matformer-bind-runtime-abi";
  ModelAbi abi;
  for (auto [i, type] : llvm::enumerate(impl.getArgumentTypes())) {
    AbiArgument argument;
    if (auto weight = impl.getArgAttrOfType<StringAttr>(i, matformer::kWeightAttrName)) {
      argument.kind = AbiArgument::Kind::Weight;
      argument.name = weight.str();
    } else if (auto name = impl.getArgAttrOfType<StringAttr>(i, matformer::kAbiArgAttrName)) {
      argument.kind = isa<IndexType>(type) ? AbiArgument::Kind::Index
                                           : AbiArgument::Kind::Buffer;
      argument.name = name.str();
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
      if (argument.kind == AbiArgument::Kind::Weight)
        abi.bf16Weights |= memref.getElementType().isBF16();
    } else if (!isa<IndexType>(type)) {
      return impl.emitOpError() << "argument " << i << " ('" << argument.name
                                << "') must be an index or a memref";
    }
    abi.arguments.push_back(std::move(argument));
  }
  // The entry must take exactly the header's arguments, in its order.
  size_t next = 0;
  for (const abi::Arg &expected : abi::kForwardArgs) {
    if (expected.kind == abi::ArgKind::WeightTable) {
      while (next < abi.arguments.size() &&
             abi.arguments[next].kind == AbiArgument::Kind::Weight)
        ++next;
      continue;
    }
    if (next >= abi.arguments.size() || abi.arguments[next].name != expected.name)
      return impl.emitOpError() << "argument " << next << " should be '"
                                << expected.name << "' (matc/abi/ModelAbi.h)";
    ++next;
  }
  if (next != abi.arguments.size())
    return impl.emitOpError() << "has " << abi.arguments.size() - next
                              << " arguments after its weights";
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
  return manifest.dump();
}

LogicalResult matc::addRuntimeEntry(ModuleOp module, const ModelAbi &abi,
                                    const std::string &manifest,
                                    BufferPlacement *placement) {
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
  // The names served the ABI; LLVM has no use for them.
  for (unsigned i = 0; i < impl.getNumArguments(); ++i) {
    impl.removeArgAttr(i, matformer::kAbiArgAttrName);
    impl.removeArgAttr(i, matformer::kWeightAttrName);
  }

  // The C signature of abi::kForwardArgs: i64 for an index, ptr otherwise.
  SmallVector<Type> parameters;
  for (const abi::Arg &arg : abi::kForwardArgs)
    parameters.push_back(arg.kind == abi::ArgKind::Index ? Type(i64) : Type(ptr));
  auto entry = LLVM::LLVMFuncOp::create(
      b, loc, abi::kForwardSymbol,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), parameters));
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  if (placement)
    placement->begin(b, loc, body);
  auto constant = [&](int64_t value) -> Value {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(value));
  };
  // A contiguous memref's descriptor, expanded as the default calling
  // convention passes it: allocated, aligned, offset, sizes, strides.
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
  Value weightTable = body->getArgument(abi::forwardArgIndex("weights"));
  int32_t weightIndex = 0;
  for (const AbiArgument &argument : abi.arguments) {
    switch (argument.kind) {
    case AbiArgument::Kind::Index:
      operands.push_back(
          body->getArgument(abi::forwardArgIndex(argument.name.c_str())));
      break;
    case AbiArgument::Kind::Buffer: {
      Value pointer =
          body->getArgument(abi::forwardArgIndex(argument.name.c_str()));
      if (placement)
        pointer = placement->place(b, loc, argument, pointer, body);
      pushDescriptor(pointer, argument.shape);
      break;
    }
    case AbiArgument::Kind::Weight: {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, weightTable,
                                       ArrayRef<LLVM::GEPArg>{weightIndex++});
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

  b.setInsertionPointToEnd(module.getBody());
  std::string text = manifest + '\0';
  auto textType = LLVM::LLVMArrayType::get(IntegerType::get(context, 8),
                                           text.size());
  LLVM::GlobalOp::create(b, loc, textType, /*isConstant=*/true,
                         LLVM::Linkage::External, abi::kManifestSymbol,
                         b.getStringAttr(text));
  return success();
}

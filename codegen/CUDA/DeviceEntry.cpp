//===- DeviceEntry.cpp - the CUDA entry maps buffers to device memory ------===//
#include "CUDA/DeviceEntry.h"
#include "matc/abi/CudaAbi.h"
#include "matc/abi/ModelAbi.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;
namespace abi = matc::abi;
namespace cudaAbi = matc::abi::cuda;

namespace {

int64_t elementBytes(const std::string &dtype) {
  if (dtype == "bf16")
    return 2;
  if (dtype == "i64")
    return 8;
  return 4; // f32, i32
}

int64_t bufferBytes(const matc::AbiArgument &argument) {
  int64_t bytes = elementBytes(argument.dtype);
  for (int64_t size : argument.shape)
    bytes *= size;
  return bytes;
}

class DevicePlacement : public matc::BufferPlacement {
public:
  DevicePlacement(ModuleOp module, const matc::ModelAbi &abi)
      : module(module), abi(abi) {}

  void begin(OpBuilder &b, Location loc, Block *) override {
    call(b, loc, cudaAbi::kBeginForward, {});
  }

  Value place(OpBuilder &b, Location loc, const matc::AbiArgument &argument,
              Value pointer, Block *entry) override {
    int64_t capacity = bufferBytes(argument);
    if (argument.kind == matc::AbiArgument::Kind::Weight)
      return call(b, loc, cudaAbi::kWeight, {pointer, constant(b, loc, capacity)});
    if (argument.name == "layer_widths")
      return pointer;
    if (argument.name == "k_cache" || argument.name == "v_cache")
      return call(b, loc, cudaAbi::kResident,
                  {pointer, constant(b, loc, capacity)});
    if (argument.name == "tokens") {
      Value count = entry->getArgument(abi::forwardArgIndex("num_tokens"));
      Value bytes = LLVM::MulOp::create(
          b, loc, count, constant(b, loc, elementBytes(argument.dtype)));
      return call(b, loc, cudaAbi::kCopyIn,
                  {constant(b, loc, cudaAbi::kTokensSlot), pointer,
                   constant(b, loc, capacity), bytes});
    }
    // logits: written on the device, copied out by end().
    logitsHost = pointer;
    return call(b, loc, cudaAbi::kOutput,
                {constant(b, loc, cudaAbi::kLogitsSlot),
                 constant(b, loc, capacity)});
  }

  void end(OpBuilder &b, Location loc, Block *entry) override {
    if (logitsHost) {
      Value rows = entry->getArgument(abi::forwardArgIndex("num_logits"));
      Value bytes = LLVM::MulOp::create(
          b, loc, rows, constant(b, loc, abi.vocabSize * int64_t(sizeof(float))));
      call(b, loc, cudaAbi::kCopyOut,
           {constant(b, loc, cudaAbi::kLogitsSlot), logitsHost, bytes});
    }
    call(b, loc, cudaAbi::kEndForward, {});
  }

private:
  Value constant(OpBuilder &b, Location loc, int64_t value) {
    return LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                    b.getI64IntegerAttr(value));
  }

  /// Calls the runtime function `name` (declared on first use): it returns
  /// a pointer when it is a lookup (weight, resident, copy_in, output),
  /// nothing otherwise.
  Value call(OpBuilder &b, Location loc, llvm::StringRef name,
             ValueRange operands) {
    MLIRContext *context = module.getContext();
    auto ptr = LLVM::LLVMPointerType::get(context);
    bool returnsPointer = name == cudaAbi::kWeight ||
                          name == cudaAbi::kResident ||
                          name == cudaAbi::kCopyIn || name == cudaAbi::kOutput;
    Type result = returnsPointer ? Type(ptr) : LLVM::LLVMVoidType::get(context);
    auto function = module.lookupSymbol<LLVM::LLVMFuncOp>(name);
    if (!function) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      auto type = LLVM::LLVMFunctionType::get(
          result, llvm::to_vector(operands.getTypes()));
      function = LLVM::LLVMFuncOp::create(b, loc, name, type);
    }
    auto callOp = LLVM::CallOp::create(b, loc, function, operands);
    return returnsPointer ? callOp.getResult() : Value();
  }

  ModuleOp module;
  const matc::ModelAbi &abi;
  Value logitsHost;
};

} // namespace

std::unique_ptr<matc::BufferPlacement>
matc::cuda::createDevicePlacement(ModuleOp module, const ModelAbi &abi) {
  return std::make_unique<DevicePlacement>(module, abi);
}

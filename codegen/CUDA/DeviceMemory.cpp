//===- DeviceMemory.cpp - host buffers -> device buffers -------------------===//
//
// After loop mapping, every computation is a gpu.launch and host code only
// allocates, frees, takes views and launches. This pass makes the host's
// allocations device allocations and refuses host code that would still
// dereference a buffer (which, in the CUDA build, is a device pointer).
//
//===----------------------------------------------------------------------===//
#include "CUDA/Passes.h"
#include "matc/Dialect/MatFormer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace matc::cuda {
#define GEN_PASS_DEF_DEVICEMEMORY
#include "CUDA/Passes.h.inc"
} // namespace matc::cuda

using namespace mlir;

namespace {

bool insideKernel(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() ||
         op->getParentOfType<gpu::GPUModuleOp>();
}

/// The buffer `value` is a view of, through any chain of views and casts.
Value viewSource(Value value) {
  while (true) {
    if (auto cast = value.getDefiningOp<memref::CastOp>())
      value = cast.getSource();
    else if (auto view = value.getDefiningOp<ViewLikeOpInterface>())
      value = view.getViewSource();
    else
      return value;
  }
}

/// The memref operands that `op`, in host code, reads or writes.
SmallVector<Value> accessedBuffers(Operation *op) {
  SmallVector<Value> buffers;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return buffers;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  for (const MemoryEffects::EffectInstance &effect : instances)
    if (isa<MemoryEffects::Read, MemoryEffects::Write>(effect.getEffect()) &&
        effect.getValue() && isa<BaseMemRefType>(effect.getValue().getType()))
      buffers.push_back(effect.getValue());
  return buffers;
}

/// Which buffers live in host memory. Host memory is: the entry's
/// layer_widths, stack buffers, the allocations host code itself reads or
/// writes (the bookkeeping of buffer deallocation), and a private
/// function's argument when every call passes host memory.
class HostBuffers {
public:
  HostBuffers(ModuleOp module) : module(module) {
    // The allocations host code accesses, directly or as the argument of a
    // private function it calls.
    SmallVector<Value> worklist;
    module.walk([&](Operation *op) {
      if (!insideKernel(op))
        for (Value buffer : accessedBuffers(op))
          worklist.push_back(buffer);
    });
    while (!worklist.empty()) {
      Value root = viewSource(worklist.pop_back_val());
      if (auto alloc = root.getDefiningOp<memref::AllocOp>()) {
        hostAllocs.insert(alloc);
        continue;
      }
      auto argument = dyn_cast<BlockArgument>(root);
      if (!argument || !argument.getOwner()->isEntryBlock())
        continue;
      auto function =
          dyn_cast<func::FuncOp>(argument.getOwner()->getParentOp());
      if (!function || function.isPublic())
        continue;
      if (std::optional<SymbolTable::UseRange> uses =
              SymbolTable::getSymbolUses(function, module))
        for (const SymbolTable::SymbolUse &use : *uses)
          if (auto call = dyn_cast<func::CallOp>(use.getUser()))
            worklist.push_back(call.getOperand(argument.getArgNumber()));
    }
  }

  bool contains(Value buffer) {
    Value root = viewSource(buffer);
    if (root.getDefiningOp<memref::AllocaOp>())
      return true;
    if (auto alloc = root.getDefiningOp<memref::AllocOp>())
      return hostAllocs.contains(alloc);
    auto argument = dyn_cast<BlockArgument>(root);
    if (!argument || !argument.getOwner()->isEntryBlock())
      return false;
    auto function = dyn_cast<func::FuncOp>(argument.getOwner()->getParentOp());
    if (!function)
      return false;
    auto name = function.getArgAttrOfType<StringAttr>(
        argument.getArgNumber(), matc::matformer::kAbiArgAttrName);
    if (name)
      return name.getValue() == "layer_widths";
    if (function.isPublic() || !visiting.insert(function).second)
      return false;
    bool host = false;
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(function, module)) {
      host = true;
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        if (!call ||
            !contains(call.getOperand(argument.getArgNumber()))) {
          host = false;
          break;
        }
      }
    }
    visiting.erase(function);
    return host;
  }

  bool contains(memref::AllocOp alloc) { return hostAllocs.contains(alloc); }

private:
  ModuleOp module;
  llvm::SmallPtrSet<Operation *, 16> hostAllocs;
  llvm::SmallPtrSet<Operation *, 4> visiting;
};

/// `gpu.wait async`, `make(token)`, `gpu.wait [result token]`: a
/// synchronous device step in the async form that gpu-to-llvm lowers.
template <typename MakeFn>
void synchronousStep(OpBuilder &b, Location loc, MakeFn make) {
  Type tokenType = gpu::AsyncTokenType::get(b.getContext());
  Value ready = gpu::WaitOp::create(b, loc, tokenType, ValueRange{})
                    .getAsyncToken();
  Value done = make(ready);
  gpu::WaitOp::create(b, loc, Type(), ValueRange{done});
}

struct DeviceMemoryPass
    : matc::cuda::impl::DeviceMemoryBase<DeviceMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    HostBuffers host(module);
    // A buffer cannot be both: host code accesses it, so a kernel must not.
    WalkResult shared = module.walk([&](Operation *op) {
      if (!op->getParentOfType<gpu::LaunchOp>())
        return WalkResult::advance();
      for (Value operand : op->getOperands()) {
        if (!isa<BaseMemRefType>(operand.getType()))
          continue;
        auto alloc = viewSource(operand).getDefiningOp<memref::AllocOp>();
        if (alloc && host.contains(alloc)) {
          alloc.emitOpError()
              << "is read or written both by host code and by a kernel; in "
                 "the CUDA build a buffer lives on one side only";
          return WalkResult::interrupt();
        }
      }
      return WalkResult::advance();
    });
    if (shared.wasInterrupted())
      return signalPassFailure();
    // Host code must not dereference device memory.
    WalkResult checked = module.walk([&](Operation *op) {
      if (insideKernel(op) || isa<gpu::LaunchOp>(op))
        return WalkResult::advance();
      for (Value buffer : accessedBuffers(op)) {
        if (host.contains(buffer))
          continue;
        op->emitOpError() << "reads or writes a device buffer in host code: "
                             "in the CUDA build only layer_widths and the "
                             "host's own bookkeeping are host memory, so this "
                             "must run in a kernel";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (checked.wasInterrupted())
      return signalPassFailure();

    SmallVector<memref::AllocOp> allocs;
    SmallVector<memref::DeallocOp> deallocs;
    module.walk([&](Operation *op) {
      if (insideKernel(op))
        return;
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        if (!host.contains(alloc))
          allocs.push_back(alloc);
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        if (!host.contains(dealloc.getMemref()))
          deallocs.push_back(dealloc);
      }
    });
    IRRewriter b(&getContext());
    Type tokenType = gpu::AsyncTokenType::get(&getContext());
    for (memref::AllocOp alloc : allocs) {
      if (!alloc.getSymbolOperands().empty()) {
        alloc.emitOpError("with symbol operands has no device form");
        return signalPassFailure();
      }
      b.setInsertionPoint(alloc);
      Value device;
      synchronousStep(b, alloc.getLoc(), [&](Value ready) {
        auto deviceAlloc = gpu::AllocOp::create(
            b, alloc.getLoc(), alloc.getType(), tokenType, ValueRange{ready},
            alloc.getDynamicSizes(), ValueRange{}, /*hostShared=*/false);
        device = deviceAlloc.getMemref();
        return deviceAlloc.getAsyncToken();
      });
      b.replaceOp(alloc, device);
    }
    for (memref::DeallocOp dealloc : deallocs) {
      b.setInsertionPoint(dealloc);
      synchronousStep(b, dealloc.getLoc(), [&](Value ready) {
        return gpu::DeallocOp::create(b, dealloc.getLoc(), tokenType,
                                      ValueRange{ready}, dealloc.getMemref())
            .getAsyncToken();
      });
      b.eraseOp(dealloc);
    }
  }
};

} // namespace

//===- MergeKernelModules.cpp - one gpu.module for every kernel ------------===//
#include "CUDA/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace matc::cuda {
#define GEN_PASS_DEF_MERGEKERNELMODULES
#include "CUDA/Passes.h.inc"
} // namespace matc::cuda

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kMergedName = "matc_kernels";

struct MergeKernelModulesPass
    : matc::cuda::impl::MergeKernelModulesBase<MergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(
        module.getOps<gpu::GPUModuleOp>());
    if (kernelModules.empty())
      return;
    for (gpu::GPUModuleOp kernelModule : kernelModules)
      if (kernelModule.getTargetsAttr() ||
          kernelModule.getSymName() == kMergedName) {
        kernelModule.emitOpError("is already merged or has targets; merge the "
                                 "outlined kernel modules before attaching a "
                                 "target");
        return signalPassFailure();
      }
    OpBuilder b(kernelModules.front());
    auto merged = gpu::GPUModuleOp::create(b, kernelModules.front().getLoc(),
                                           kMergedName);
    SymbolTable mergedSymbols(merged);
    // (old module, old kernel) -> the kernel's name in the merged module.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp kernelModule : kernelModules) {
      StringAttr moduleName = kernelModule.getSymNameAttr();
      for (Operation &op :
           llvm::make_early_inc_range(kernelModule.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        StringAttr oldName = symbol ? symbol.getNameAttr() : StringAttr();
        op.remove();
        StringAttr newName = mergedSymbols.insert(&op);
        if (oldName)
          renamed[{moduleName, oldName}] = newName;
      }
      kernelModule.erase();
    }
    StringAttr mergedName = merged.getSymNameAttr();
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr kernel = launch.getKernel();
      auto found = renamed.find(
          {kernel.getRootReference(), kernel.getLeafReference()});
      if (found == renamed.end()) {
        launch.emitOpError("launches a kernel that is in no gpu.module");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          mergedName, {FlatSymbolRefAttr::get(found->second)}));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

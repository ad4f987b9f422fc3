//===- EmulateLaunches.cpp - gpu.launch -> serial host loops (tests) -------===//
#include "CUDA/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace matc::cuda {
#define GEN_PASS_DEF_EMULATELAUNCHES
#include "CUDA/Passes.h.inc"
} // namespace matc::cuda

using namespace mlir;

namespace {

/// Refuses a kernel whose threads must run together.
LogicalResult checkSerializable(gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return launch.emitOpError("is asynchronous; only synchronous launches "
                              "can be emulated");
  if (launch.getDynamicSharedMemorySize() ||
      !launch.getWorkgroupAttributions().empty() ||
      !launch.getPrivateAttributions().empty() || launch.hasClusterSize())
    return launch.emitOpError("uses shared memory, attributions or clusters, "
                              "which serial emulation cannot run");
  if (!launch.getBody().hasOneBlock())
    return launch.emitOpError("has a multi-block body");
  WalkResult found = launch.getBody().walk([](Operation *op) {
    if (isa<gpu::BarrierOp, gpu::ShuffleOp, gpu::SubgroupReduceOp,
            gpu::AllReduceOp>(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (found.wasInterrupted())
    return launch.emitOpError("synchronizes or communicates between threads, "
                              "which serial emulation cannot run");
  return success();
}

void emulate(gpu::LaunchOp launch) {
  OpBuilder b(launch);
  Location loc = launch.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  Value bounds[6] = {grid.x, grid.y, grid.z, block.x, block.y, block.z};
  Block &body = launch.getBody().front();
  IRMapping mapping;
  // The body's arguments: block ids, thread ids, grid size, block size.
  gpu::KernelDim3 gridArgs = launch.getGridSize();
  gpu::KernelDim3 blockArgs = launch.getBlockSize();
  Value sizeArgs[6] = {gridArgs.x, gridArgs.y, gridArgs.z,
                       blockArgs.x, blockArgs.y, blockArgs.z};
  for (int i = 0; i < 6; ++i)
    mapping.map(sizeArgs[i], bounds[i]);
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  gpu::KernelDim3 threadIds = launch.getThreadIds();
  Value ids[6] = {blockIds.x, blockIds.y, blockIds.z,
                  threadIds.x, threadIds.y, threadIds.z};
  for (int i = 0; i < 6; ++i) {
    auto loop = scf::ForOp::create(b, loc, zero, bounds[i], one);
    mapping.map(ids[i], loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  for (Operation &op : body.without_terminator())
    b.clone(op, mapping);
  launch.erase();
}

struct EmulateLaunchesPass
    : matc::cuda::impl::EmulateLaunchesBase<EmulateLaunchesPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation()->walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
    for (gpu::LaunchOp launch : launches)
      if (failed(checkSerializable(launch)))
        return signalPassFailure();
    for (gpu::LaunchOp launch : launches)
      emulate(launch);
  }
};

} // namespace

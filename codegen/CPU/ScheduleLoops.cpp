//===- ScheduleLoops.cpp - how OpenMP shares a kernel loop's iterations ---===//
//
// convert-scf-to-openmp leaves every worksharing loop without a schedule
// clause, which libomp runs as `static`: each thread gets one contiguous
// share, fixed in advance. When the cores are not equally fast at every
// moment (a VM's vCPUs, another process, a core in a slower clock state),
// the thread that finishes first spins at the loop's closing barrier until
// the other is done: libomp's spin was 7% of a 270M XL prefill on a 2-core
// Zen 3, 12% of S's. With `guided` (shares handed out as threads ask, large
// first, then smaller) it was 2% and 4%.
//
// Only the register kernels' loops (bodies with vector operations: the
// projections, attention, their gradients) get the schedule. Elementwise
// loops stay static: a dynamic schedule costs a dispatch handshake per
// loop, and a decode step runs hundreds of tiny loops (270M S decode fell
// from 31 to 25 tok/s with every loop guided; kernels only, 31).
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/Dialect/OpenMP/OpenMPDialect.h"

namespace matc::cpu {
#define GEN_PASS_DEF_SCHEDULELOOPS
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

bool holdsVectorOps(omp::WsloopOp loop) {
  return loop
      .walk([](Operation *op) {
        return isa<vector::VectorDialect>(op->getDialect())
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

struct ScheduleLoopsPass
    : matc::cpu::impl::ScheduleLoopsBase<ScheduleLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<omp::ClauseScheduleKind> kind =
        llvm::StringSwitch<std::optional<omp::ClauseScheduleKind>>(schedule)
            .Case("static", omp::ClauseScheduleKind::Static)
            .Case("dynamic", omp::ClauseScheduleKind::Dynamic)
            .Case("guided", omp::ClauseScheduleKind::Guided)
            .Default(std::nullopt);
    if (!kind) {
      getOperation()->emitError()
          << "matc-cpu-schedule-loops: schedule must be static, dynamic or "
             "guided, got '"
          << schedule << "'";
      return signalPassFailure();
    }
    auto attr = omp::ClauseScheduleKindAttr::get(&getContext(), *kind);
    getOperation()->walk([&](omp::WsloopOp loop) {
      if (!loop.getScheduleKind() && holdsVectorOps(loop))
        loop.setScheduleKindAttr(attr);
    });
  }
};

} // namespace

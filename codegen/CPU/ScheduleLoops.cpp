//===- ScheduleLoops.cpp - how OpenMP shares a kernel loop's iterations ---===//
//
// convert-scf-to-openmp leaves every worksharing loop without a schedule
// clause, which libomp runs as `static`: each thread gets one contiguous
// share, fixed in advance. When the cores are not equally fast at every
// moment (a VM's vCPUs, another process, a core in a slower clock state),
// the thread that finishes first spins at the loop's closing barrier until
// the other is done: libomp's spin was 7% of a 270M XL prefill on a 2-core
// Zen 3, 12% of S's. With `guided` (shares handed out as threads ask, large
// first, then smaller) it was 2% and 4%. The default is now `dynamic` (one
// iteration at a time), which matc-cpu-share-iterations hands out from a
// counter in the generated code, with no libomp call per iteration.
//
// Only the loops of the packed kernels (the prefill projections and the
// backward's column contractions; matc-vectorize-matmuls marks their panel
// buffers) get the schedule: each iteration is a panel over every row, so
// handing them out costs nothing next to the work. Other loops stay
// static: a dynamic schedule costs a dispatch handshake per loop, and a
// decode step runs hundreds of short ones (270M S decode fell from 31 to
// 25 tok/s with every loop guided; at 512 positions, 30 to 27 with every
// vector kernel's loop guided).
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

bool packsPanels(omp::WsloopOp loop) {
  return loop
      .walk([](Operation *op) {
        return op->hasAttr(matc::cpu::kPackedPanelAttr)
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
      if (!loop.getScheduleKind() && packsPanels(loop))
        loop.setScheduleKindAttr(attr);
    });
  }
};

} // namespace

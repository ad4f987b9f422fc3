//===- PromoteAccumulators.cpp - reductions carried in registers ----------===//
//
// convert-linalg-to-parallel-loops turns a reduction (RMSNorm's sum of
// squares, attention's running max and sum over a tile of positions) into
// an scf.for that loads its accumulator from the output buffer, adds one
// term and stores it back, every iteration. LLVM cannot keep that value in
// a register (it cannot prove the output does not alias the input), so the
// loop stays scalar with a store per element. Here the accumulator becomes
// the loop's iter_arg: one load before the loop, one store after, and LLVM
// vectorizes the reduction (where its flags allow reassociation).
//
// Sound for loops made from linalg ops: a linalg op reads its inputs and
// its output element independently of the writes to that output element,
// so no input is read through the accumulator's address during the loop.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace matc::cpu {
#define GEN_PASS_DEF_PROMOTEACCUMULATORS
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

/// The load and store of a loop's accumulator: the loop's only store, at
/// indices that do not change in the loop, with one load of the same
/// element before it and no other access to that memref in the loop.
struct Accumulator {
  memref::LoadOp load;
  memref::StoreOp store;
};

std::optional<Accumulator> findAccumulator(scf::ForOp loop) {
  if (loop.getNumRegionIterArgs() != 0)
    return std::nullopt;
  Block *body = loop.getBody();
  memref::StoreOp store;
  for (Operation &op : body->without_terminator()) {
    if (isa<memref::StoreOp>(op)) {
      if (store)
        return std::nullopt;
      store = cast<memref::StoreOp>(op);
    } else if (op.getNumRegions() != 0 || !isMemoryEffectFree(&op)) {
      // Nested loops and calls, or writes other than the one store: left
      // alone. Loads are fine (checked below).
      if (!isa<memref::LoadOp>(op))
        return std::nullopt;
    }
  }
  if (!store || !llvm::all_of(store.getIndices(), [&](Value index) {
        return loop.isDefinedOutsideOfLoop(index);
      }) || !loop.isDefinedOutsideOfLoop(store.getMemRef()))
    return std::nullopt;
  memref::LoadOp load;
  for (Operation &op : body->without_terminator()) {
    auto candidate = dyn_cast<memref::LoadOp>(op);
    if (!candidate || candidate.getMemRef() != store.getMemRef())
      continue;
    if (load || candidate.getIndices() != store.getIndices() ||
        !candidate->isBeforeInBlock(store))
      return std::nullopt;
    load = candidate;
  }
  if (!load)
    return std::nullopt;
  return Accumulator{load, store};
}

void promote(scf::ForOp loop, Accumulator accumulator) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value initial = memref::LoadOp::create(b, loc, accumulator.load.getMemRef(),
                                         accumulator.load.getIndices());
  auto carried = scf::ForOp::create(
      b, loc, loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
      ValueRange{initial},
      [&](OpBuilder &fb, Location, Value iv, ValueRange acc) {
        IRMapping mapping;
        mapping.map(loop.getInductionVar(), iv);
        mapping.map(accumulator.load.getResult(), acc[0]);
        for (Operation &op : loop.getBody()->without_terminator())
          if (&op != accumulator.load.getOperation() &&
              &op != accumulator.store.getOperation())
            fb.clone(op, mapping);
        scf::YieldOp::create(
            fb, loc, mapping.lookupOrDefault(accumulator.store.getValue()));
      });
  memref::StoreOp::create(b, loc, carried.getResult(0),
                          accumulator.store.getMemRef(),
                          accumulator.store.getIndices());
  loop->erase();
}

struct PromoteAccumulatorsPass
    : matc::cpu::impl::PromoteAccumulatorsBase<PromoteAccumulatorsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<scf::ForOp, Accumulator>> loops;
    getOperation()->walk([&](scf::ForOp loop) {
      if (std::optional<Accumulator> accumulator = findAccumulator(loop))
        loops.push_back({loop, *accumulator});
    });
    for (auto [loop, accumulator] : loops)
      promote(loop, accumulator);
  }
};

} // namespace

//===- MergeParallelRegions.cpp - one OpenMP team per stretch of loops ----===//
//
// convert-scf-to-openmp gives every parallel loop nest its own
// `omp.parallel`: libomp forks the team, the worksharing loop ends with a
// barrier, and the region's end joins the team, a second barrier. A decode
// step of the 270M spec runs about 15 such regions per layer; libomp was
// 14% of S's decode samples, most of it threads waiting at those barriers.
//
// This pass makes the team outlive the loops:
//   1. an `scf.if` without results whose branches hold only memory-effect
//      free ops and `omp.parallel` ops (attention's and the transposes'
//      run-time shape checks) moves into one `omp.parallel`, its branches'
//      regions inlined: every thread evaluates the same condition, so all
//      of them meet the same worksharing loops;
//   2. `omp.parallel` ops of one block separated only by memory-effect free
//      ops, allocations and deallocations become one: the ops in between
//      move before it (deallocations after it), and the worksharing loops
//      follow one another in the region, each ending with its barrier;
//   3. a worksharing loop drops its barrier (`nowait`) where nothing needs
//      it: when it is the region's last (the join waits for every thread),
//      or when the next loop touches none of the buffers it writes and
//      writes none it reads, and the same holds against every loop since
//      the last barrier (the q, k and v projections of a layer).
//
// Buffers are told apart by their allocation: two `memref.alloc` results
// never alias, nor does an allocation and a function argument; two
// function arguments may. An access whose buffer cannot be traced (a call,
// a memref from a loop's or an `scf.if`'s results) conflicts with
// everything, so its loop keeps its barrier.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace matc::cpu {
#define GEN_PASS_DEF_MERGEPARALLELREGIONS
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

/// A region made by convert-scf-to-openmp: no clauses, one block.
bool isPlainRegion(omp::ParallelOp op) {
  return op->getNumOperands() == 0 && op.getRegion().hasOneBlock() &&
         op.getRegion().front().getNumArguments() == 0;
}

/// Moves the body of `inner` (a plain region) before `inner`, without its
/// terminator, and erases `inner`.
void inlineRegionBody(omp::ParallelOp inner) {
  Block &body = inner.getRegion().front();
  inner->getBlock()->getOperations().splice(
      inner->getIterator(), body.getOperations(), body.begin(),
      std::prev(body.end()));
  inner.erase();
}

bool mayMoveAcrossRegions(Operation *op) {
  return isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp>(op) ||
         isMemoryEffectFree(op);
}

/// Step 2 on one block: each run of plain `omp.parallel` ops separated only
/// by movable ops becomes one region.
void mergeRunsInBlock(Block &block) {
  omp::ParallelOp head;
  SmallVector<Operation *> between;
  for (Operation &op : llvm::make_early_inc_range(block)) {
    auto region = dyn_cast<omp::ParallelOp>(op);
    if (region && isPlainRegion(region)) {
      if (!head) {
        head = region;
        continue;
      }
      // Allocations and pure ops go before the merged region (their
      // operands are defined before `head`: nothing between defines values
      // but these), deallocations after it.
      for (Operation *moved : between) {
        if (isa<memref::DeallocOp>(moved))
          moved->moveAfter(region);
        else
          moved->moveBefore(head);
      }
      between.clear();
      Block &headBody = head.getRegion().front();
      Block &body = region.getRegion().front();
      headBody.getOperations().splice(std::prev(headBody.end()),
                                      body.getOperations(), body.begin(),
                                      std::prev(body.end()));
      region.erase();
      continue;
    }
    if (head && mayMoveAcrossRegions(&op) &&
        !op.hasTrait<OpTrait::IsTerminator>()) {
      between.push_back(&op);
      continue;
    }
    head = nullptr;
    between.clear();
  }
}

/// Step 1: `ifOp` (no results; not inside a parallel region) whose branches
/// hold only pure ops and plain regions moves into a region of its own.
void liftOutOfIf(scf::IfOp ifOp) {
  if (ifOp->getNumResults() != 0 || ifOp->getParentOfType<omp::ParallelOp>())
    return;
  bool hasRegion = false;
  for (Region *branch : {&ifOp.getThenRegion(), &ifOp.getElseRegion()}) {
    if (branch->empty())
      continue;
    mergeRunsInBlock(branch->front());
    for (Operation &op : branch->front()) {
      auto region = dyn_cast<omp::ParallelOp>(op);
      if (region && isPlainRegion(region)) {
        hasRegion = true;
        continue;
      }
      if (!isMemoryEffectFree(&op))
        return;
    }
  }
  if (!hasRegion)
    return;
  OpBuilder builder(ifOp);
  auto outer = omp::ParallelOp::create(builder, ifOp.getLoc());
  Block *body = builder.createBlock(&outer.getRegion());
  omp::TerminatorOp::create(builder, ifOp.getLoc());
  ifOp->moveBefore(body->getTerminator());
  for (Region *branch : {&ifOp.getThenRegion(), &ifOp.getElseRegion()})
    if (!branch->empty())
      for (auto inner : llvm::make_early_inc_range(
               branch->front().getOps<omp::ParallelOp>()))
        inlineRegionBody(inner);
}

/// The buffers a loop reads and writes, by allocation; `unknown` when an
/// access could not be traced.
struct Footprint {
  llvm::SmallPtrSet<Value, 8> reads, writes;
  bool unknown = false;
};

/// The allocation or function argument `value` is a view of, or null.
Value bufferOf(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  if (auto argument = dyn_cast<BlockArgument>(value))
    return isa<func::FuncOp>(argument.getOwner()->getParentOp()) ? value
                                                                 : Value();
  if (isa_and_present<memref::AllocOp, memref::AllocaOp>(value.getDefiningOp()))
    return value;
  return Value();
}

Footprint footprintOf(omp::WsloopOp loop) {
  Footprint footprint;
  loop.walk([&](Operation *op) {
    if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return;
    auto interface = dyn_cast<MemoryEffectOpInterface>(op);
    if (!interface) {
      footprint.unknown = true;
      return;
    }
    SmallVector<MemoryEffects::EffectInstance> effects;
    interface.getEffects(effects);
    for (const MemoryEffects::EffectInstance &effect : effects) {
      bool isRead = isa<MemoryEffects::Read>(effect.getEffect());
      bool isWrite = isa<MemoryEffects::Write>(effect.getEffect());
      if (!isRead && !isWrite)
        continue; // allocations of the loop's own scratch
      Value value = effect.getValue();
      Value buffer = value ? bufferOf(value) : Value();
      if (!buffer) {
        footprint.unknown = true;
        continue;
      }
      // A scratch buffer allocated inside the loop is each thread's own.
      if (loop->isAncestor(buffer.getParentBlock()->getParentOp()))
        continue;
      (isWrite ? footprint.writes : footprint.reads).insert(buffer);
    }
  });
  return footprint;
}

bool mayAlias(Value a, Value b) {
  return a == b || (isa<BlockArgument>(a) && isa<BlockArgument>(b));
}

bool overlaps(const llvm::SmallPtrSet<Value, 8> &a,
              const llvm::SmallPtrSet<Value, 8> &b) {
  for (Value x : a)
    for (Value y : b)
      if (mayAlias(x, y))
        return true;
  return false;
}

/// Whether `later` may run while threads are still in `earlier`.
bool independent(const Footprint &earlier, const Footprint &later) {
  if (earlier.unknown || later.unknown)
    return false;
  return !overlaps(earlier.writes, later.reads) &&
         !overlaps(earlier.writes, later.writes) &&
         !overlaps(earlier.reads, later.writes);
}

/// What step 3 sees of a region's top-level op with memory effects: a
/// worksharing loop, or an `scf.if` (lifted by step 1) whose two branches
/// each end with one and hold nothing else with effects. `last` are the
/// loops whose barriers end the unit on every path.
struct Unit {
  Footprint footprint;
  SmallVector<omp::WsloopOp, 2> last;
};

bool hasReductions(omp::WsloopOp loop) {
  return !loop.getReductionVars().empty();
}

void addFootprint(Footprint &into, const Footprint &from) {
  into.reads.insert(from.reads.begin(), from.reads.end());
  into.writes.insert(from.writes.begin(), from.writes.end());
  into.unknown |= from.unknown;
}

std::optional<Unit> unitOf(Operation &op) {
  if (auto loop = dyn_cast<omp::WsloopOp>(op)) {
    if (hasReductions(loop))
      return std::nullopt;
    return Unit{footprintOf(loop), {loop}};
  }
  auto ifOp = dyn_cast<scf::IfOp>(op);
  if (!ifOp || ifOp.getElseRegion().empty())
    return std::nullopt;
  Unit unit;
  for (Region *branch : {&ifOp.getThenRegion(), &ifOp.getElseRegion()}) {
    omp::WsloopOp last;
    for (Operation &inner : branch->front()) {
      if (isMemoryEffectFree(&inner))
        continue;
      auto loop = dyn_cast<omp::WsloopOp>(inner);
      if (!loop || hasReductions(loop))
        return std::nullopt;
      addFootprint(unit.footprint, footprintOf(loop));
      last = loop;
    }
    if (!last)
      return std::nullopt;
    unit.last.push_back(last);
  }
  return unit;
}

/// Step 3 on one region's body. `running` holds the footprints of the
/// units that may still run on some thread (those since the last barrier
/// every path passes), `previous` the unit before.
void dropNeedlessBarriers(omp::ParallelOp region) {
  SmallVector<Footprint> running;
  std::optional<Unit> previous;
  for (Operation &op : region.getRegion().front()) {
    if (isa<omp::TerminatorOp>(op)) {
      if (previous)
        for (omp::WsloopOp loop : previous->last)
          loop.setNowait(true);
      return;
    }
    if (isMemoryEffectFree(&op))
      continue;
    std::optional<Unit> unit = unitOf(op);
    if (!unit) {
      // Anything else runs after the barriers of the unit before it, and
      // its own loops keep theirs.
      previous.reset();
      running.clear();
      continue;
    }
    bool mayOverlap =
        previous && llvm::all_of(running, [&](const Footprint &earlier) {
          return independent(earlier, unit->footprint);
        });
    if (mayOverlap)
      for (omp::WsloopOp loop : previous->last)
        loop.setNowait(true);
    else
      running.clear();
    running.push_back(unit->footprint);
    previous = std::move(unit);
  }
}

struct MergeParallelRegionsPass
    : matc::cpu::impl::MergeParallelRegionsBase<MergeParallelRegionsPass> {
  void runOnOperation() override {
    getOperation()->walk([](func::FuncOp function) {
      if (function.isExternal())
        return;
      // Innermost `scf.if` first, so that lifted regions lift again.
      SmallVector<scf::IfOp> ifs;
      function.walk<WalkOrder::PostOrder>(
          [&](scf::IfOp ifOp) { ifs.push_back(ifOp); });
      for (scf::IfOp ifOp : ifs)
        liftOutOfIf(ifOp);
      SmallVector<Block *> blocks;
      function.walk([&](Block *block) {
        Operation *parent = block->getParentOp();
        if (!isa<omp::ParallelOp>(parent) &&
            !parent->getParentOfType<omp::ParallelOp>())
          blocks.push_back(block);
      });
      for (Block *block : blocks)
        mergeRunsInBlock(*block);
      function.walk([](omp::ParallelOp region) {
        if (isPlainRegion(region))
          dropNeedlessBarriers(region);
      });
    });
  }
};

} // namespace

//===- ShareIterations.cpp - worksharing loops shared out by generated code
//-===//
//
// The OpenMP lowering shares out a worksharing loop's iterations by calling
// libomp: `__kmpc_for_static_init` (and `_fini`) for a static loop,
// `__kmpc_dispatch_init` and one `__kmpc_dispatch_next` per chunk for a
// dynamic or guided one. The libomp that Debian ships (libomp-22-dev) is
// built with its debug tracing compiled in: those functions format their
// trace strings with vsnprintf and malloc on every call, even with tracing
// off. A 270M S decode step runs over a thousand such loops per token; the
// formatting was about 2.5% of its samples.
//
// This pass shares out the iterations in the generated code instead:
//   - a static loop (no schedule clause) becomes an `scf.for` over the
//     calling thread's share, from the thread number and team size, asked
//     once at the top of the region. Shares are balanced as libomp's
//     `static` is: with T iterations on N threads, the first T mod N
//     threads run T/N + 1 of them and the others T/N, in thread order.
//     The queries are libomp's `__kmpc_bound_thread_num` and
//     `__kmpc_bound_num_threads` (a thread-local read each), not
//     `omp_get_thread_num` and `omp_get_num_threads`, which GNU libgomp
//     defines too: a linked binary binds libomp's versioned symbols, but
//     a JIT resolving names in a process that loaded libgomp first (as
//     PyTorch does) could bind libgomp's, which would answer 0 and 1
//     inside libomp's teams;
//   - a dynamic loop (`schedule(dynamic)` without a chunk size: the packed
//     kernels', one panel over every row per iteration) becomes an
//     `scf.while` that takes the next iteration from a counter shared by
//     the team, with one atomic add each, until the counter passes the
//     end. The counter is a stack slot of the function, zeroed before the
//     region starts, one per loop; a dynamic loop that may run more than
//     once per region (inside a loop of the region) keeps libomp's
//     dispatch, since its counter would need a reset and a barrier.
// A loop of several dimensions (collapsed) is shared over its linear index
// and recovers each induction variable from it. Each loop is followed by
// an `omp.barrier` unless it had `nowait`.
//
// Loops with other clauses (a chunk size, guided, reductions, private
// values, ordered, linear) keep the OpenMP lowering, as do loops outside a
// parallel region.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace matc::cpu {
#define GEN_PASS_DEF_SHAREITERATIONS
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kThreadNum = "__kmpc_bound_thread_num";
constexpr llvm::StringLiteral kNumThreads = "__kmpc_bound_num_threads";

enum class Sharing { Static, Dynamic };

/// How `loop` can be shared out, if at all: no clause but `nowait` and a
/// schedule kind without chunk or modifier, one exclusive loop nest of one
/// block, inside a parallel region.
std::optional<Sharing> sharingOf(omp::WsloopOp loop) {
  if (loop->getNumOperands() != 0 || loop.getScheduleMod() ||
      loop.getScheduleSimd() || loop.getOrdered() || loop.getOrder() ||
      loop.getReductionMod())
    return std::nullopt;
  auto region = loop->getParentOfType<omp::ParallelOp>();
  if (!region)
    return std::nullopt;
  Block &wrapper = loop.getRegion().front();
  if (wrapper.getNumArguments() != 0 || !llvm::hasSingleElement(wrapper))
    return std::nullopt;
  auto nest = dyn_cast<omp::LoopNestOp>(wrapper.front());
  if (!nest || nest.getLoopInclusive() || !nest.getRegion().hasOneBlock() ||
      nest.getTileSizes())
    return std::nullopt;
  std::optional<omp::ClauseScheduleKind> kind = loop.getScheduleKind();
  if (!kind)
    return Sharing::Static;
  if (*kind != omp::ClauseScheduleKind::Dynamic)
    return std::nullopt;
  // Its counter is zeroed once per region: the loop must run at most once.
  for (Operation *op = loop->getParentOp(); op != region;
       op = op->getParentOp())
    if (isa<LoopLikeOpInterface>(op))
      return std::nullopt;
  return Sharing::Dynamic;
}

omp::LoopNestOp nestOf(omp::WsloopOp loop) {
  return cast<omp::LoopNestOp>(loop.getRegion().front().front());
}

/// Declares `name` : (!llvm.ptr) -> i32 in `module` if it is not there
/// yet. The pointer is libomp's source location (`ident_t *`), which these
/// queries do not read.
void declareQuery(ModuleOp module, StringRef name) {
  if (module.lookupSymbol(name))
    return;
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  auto type = builder.getFunctionType(
      {LLVM::LLVMPointerType::get(builder.getContext())},
      {builder.getI32Type()});
  auto decl = func::FuncOp::create(builder, module.getLoc(), name, type);
  decl.setPrivate();
}

/// The thread number and the team size of a region, asked for once at the
/// top of its body.
struct Team {
  Value thread, size;
};

Team teamOf(omp::ParallelOp region, llvm::DenseMap<Operation *, Team> &teams) {
  auto [it, inserted] = teams.try_emplace(region);
  if (!inserted)
    return it->second;
  OpBuilder b = OpBuilder::atBlockBegin(&region.getRegion().front());
  Location loc = region.getLoc();
  Value noLocation =
      LLVM::ZeroOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext()));
  auto ask = [&](StringRef name) -> Value {
    Value n = func::CallOp::create(b, loc, name, b.getI32Type(), noLocation)
                  .getResult(0);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), n);
  };
  it->second.thread = ask(kThreadNum);
  it->second.size = ask(kNumThreads);
  return it->second;
}

/// A nest's bounds and its iteration counts, per loop and in all.
struct Iterations {
  SmallVector<Value> lowerBounds, steps, trips;
  Value total;
};

/// Iterations of one loop: ceil(max(ub - lb, 0) / step).
Iterations iterationsOf(OpBuilder &b, Location loc, omp::LoopNestOp nest) {
  Iterations it;
  it.lowerBounds = llvm::to_vector(nest.getLoopLowerBounds());
  it.steps = llvm::to_vector(nest.getLoopSteps());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  for (auto [lb, ub, step] :
       llvm::zip_equal(it.lowerBounds, nest.getLoopUpperBounds(), it.steps)) {
    Value span = arith::SubIOp::create(b, loc, ub, lb);
    span = arith::MaxSIOp::create(b, loc, span, zero);
    it.trips.push_back(arith::CeilDivSIOp::create(b, loc, span, step));
  }
  it.total = it.trips.front();
  for (Value trip : llvm::drop_begin(it.trips))
    it.total = arith::MulIOp::create(b, loc, it.total, trip);
  return it;
}

/// The induction variables of the iteration with linear index `linear`:
/// the outermost by a division only, the inner ones by a remainder too.
SmallVector<Value> inductionVariables(OpBuilder &b, Location loc,
                                      const Iterations &it, Value linear) {
  SmallVector<Value> ivs(it.trips.size());
  Value rest = linear;
  for (size_t d = it.trips.size(); d-- > 0;) {
    Value index = rest;
    if (d > 0) {
      index = arith::RemUIOp::create(b, loc, rest, it.trips[d]);
      rest = arith::DivUIOp::create(b, loc, rest, it.trips[d]);
    }
    ivs[d] = arith::AddIOp::create(
        b, loc, it.lowerBounds[d],
        arith::MulIOp::create(b, loc, index, it.steps[d]));
  }
  return ivs;
}

/// Replaces `scope` by its body between a stack save and a stack restore.
/// convert-scf-to-openmp wraps a parallel body that allocates (the packed
/// kernels' panel buffers) in a `memref.alloca_scope`, and its lowering
/// splits the enclosing block, which an `scf.for` or `scf.while` body must
/// not be; what it lowers to is this.
void inlineAllocaScope(memref::AllocaScopeOp scope) {
  OpBuilder b(scope);
  Location loc = scope.getLoc();
  Value stack = LLVM::StackSaveOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()));
  Block &body = scope.getBodyRegion().front();
  auto ret = cast<memref::AllocaScopeReturnOp>(body.getTerminator());
  scope->replaceAllUsesWith(ret.getResults());
  scope->getBlock()->getOperations().splice(scope->getIterator(),
                                            body.getOperations(), body.begin(),
                                            ret->getIterator());
  b.setInsertionPoint(scope);
  LLVM::StackRestoreOp::create(b, loc, stack);
  scope.erase();
}

/// Moves the nest's body before `before`, its variables replaced by `ivs`;
/// then the loop itself becomes a barrier, or nothing with `nowait`.
void replaceLoop(omp::WsloopOp loop, Operation *before, ValueRange ivs) {
  Block &body = nestOf(loop).getRegion().front();
  Operation *yield = body.getTerminator();
  for (auto [arg, iv] : llvm::zip_equal(body.getArguments(), ivs))
    arg.replaceAllUsesWith(iv);
  for (auto scope :
       llvm::make_early_inc_range(body.getOps<memref::AllocaScopeOp>()))
    inlineAllocaScope(scope);
  before->getBlock()->getOperations().splice(before->getIterator(),
                                             body.getOperations(), body.begin(),
                                             yield->getIterator());
  if (!loop.getNowait()) {
    OpBuilder b(loop);
    omp::BarrierOp::create(b, loop.getLoc());
  }
  loop.erase();
}

/// A static loop: this thread's contiguous share, begin = t * q + min(t, r)
/// and end = begin + q + (t < r), with q = total / n and r = total mod n.
void shareStatically(omp::WsloopOp loop, Team team) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Iterations it = iterationsOf(b, loc, nestOf(loop));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value q = arith::DivUIOp::create(b, loc, it.total, team.size);
  Value r = arith::RemUIOp::create(b, loc, it.total, team.size);
  Value begin = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, team.thread, q),
      arith::MinUIOp::create(b, loc, team.thread, r));
  Value extra = arith::SelectOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, team.thread, r),
      one, zero);
  Value end = arith::AddIOp::create(b, loc, begin,
                                    arith::AddIOp::create(b, loc, q, extra));

  // One loop: iterate its induction variable itself (no index arithmetic
  // per iteration).
  if (it.trips.size() == 1) {
    Value lb = it.lowerBounds[0], step = it.steps[0];
    Value from = arith::AddIOp::create(
        b, loc, lb, arith::MulIOp::create(b, loc, begin, step));
    Value to = arith::AddIOp::create(b, loc, lb,
                                     arith::MulIOp::create(b, loc, end, step));
    auto share = scf::ForOp::create(b, loc, from, to, step);
    replaceLoop(loop, share.getBody()->getTerminator(),
                share.getInductionVar());
    return;
  }
  auto share = scf::ForOp::create(b, loc, begin, end, one);
  OpBuilder inner = OpBuilder::atBlockBegin(share.getBody());
  replaceLoop(loop, share.getBody()->getTerminator(),
              inductionVariables(inner, loc, it, share.getInductionVar()));
}

/// A dynamic loop: each thread takes the next iteration from `counter`
/// (zeroed before the region) until it passes the end.
void handOutDynamically(omp::WsloopOp loop, Value counter) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Iterations it = iterationsOf(b, loc, nestOf(loop));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value total = arith::IndexCastOp::create(b, loc, b.getI64Type(), it.total);
  Value one = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 1);
  auto take = [&](OpBuilder &at) -> Value {
    return memref::AtomicRMWOp::create(at, loc, arith::AtomicRMWKind::addi, one,
                                       counter, ValueRange{zero});
  };
  Value first = take(b);
  auto taking = scf::WhileOp::create(b, loc, TypeRange{b.getI64Type()},
                                     ValueRange{first});
  Block *before =
      b.createBlock(&taking.getBefore(), {}, {b.getI64Type()}, {loc});
  Value more = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                     before->getArgument(0), total);
  scf::ConditionOp::create(b, loc, more, before->getArgument(0));
  Block *after = b.createBlock(&taking.getAfter(), {}, {b.getI64Type()}, {loc});
  Value linear = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                            after->getArgument(0));
  SmallVector<Value> ivs = inductionVariables(b, loc, it, linear);
  Value next = take(b);
  scf::YieldOp::create(b, loc, next);
  replaceLoop(loop, next.getDefiningOp(), ivs);
}

/// A counter for a dynamic loop of `region`: a stack slot of the function,
/// zeroed just before the region starts.
Value counterFor(omp::ParallelOp region) {
  auto func = region->getParentOfType<FunctionOpInterface>();
  Location loc = region.getLoc();
  OpBuilder b = OpBuilder::atBlockBegin(&func.getFunctionBody().front());
  Value counter =
      memref::AllocaOp::create(b, loc, MemRefType::get({1}, b.getI64Type()));
  b.setInsertionPoint(region);
  Value zero = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0);
  Value index = arith::ConstantIndexOp::create(b, loc, 0);
  memref::StoreOp::create(b, loc, zero, counter, index);
  return counter;
}

struct ShareIterationsPass
    : matc::cpu::impl::ShareIterationsBase<ShareIterationsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<omp::WsloopOp, Sharing>> loops;
    module.walk([&](omp::WsloopOp loop) {
      if (std::optional<Sharing> sharing = sharingOf(loop))
        loops.emplace_back(loop, *sharing);
    });
    llvm::DenseMap<Operation *, Team> teams;
    for (auto [loop, sharing] : loops) {
      auto region = loop->getParentOfType<omp::ParallelOp>();
      if (sharing == Sharing::Dynamic) {
        handOutDynamically(loop, counterFor(region));
        continue;
      }
      declareQuery(module, kThreadNum);
      declareQuery(module, kNumThreads);
      shareStatically(loop, teamOf(region, teams));
    }
  }
};

} // namespace

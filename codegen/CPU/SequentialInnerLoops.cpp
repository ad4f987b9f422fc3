//===- SequentialInnerLoops.cpp - inner loops LLVM can vectorize ----------===//
//
// convert-linalg-to-parallel-loops makes every parallel dimension of an
// elementwise op (SiLU times up, RMSNorm's scaling, RoPE, softmax's exp, the
// residual add) one dimension of a single scf.parallel, which the OpenMP
// lowering collapses into one flat loop: each element then recomputes its
// indices with divisions, and there is no inner loop for LLVM's loop
// vectorizer. Keeping the innermost dimension a sequential scf.for shares
// the outer dimensions among the threads and leaves a unit-stride inner
// loop that vectorizes.
//
//===----------------------------------------------------------------------===//
#include "CPU/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace matc::cpu {
#define GEN_PASS_DEF_SEQUENTIALINNERLOOPS
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

using namespace mlir;

namespace {

/// Loops this pass rewrites: outermost, two or more dimensions, no
/// reduction results, and a scalar body (the register kernels of
/// matc-vectorize-matmuls already run on vectors and choose their own
/// parallel dimensions).
bool isScalarParallelNest(scf::ParallelOp loop) {
  if (loop.getNumLoops() < 2 || loop.getNumResults() != 0 ||
      loop->getParentOfType<scf::ParallelOp>())
    return false;
  return !loop.walk([](Operation *op) {
                return isa<vector::VectorDialect>(op->getDialect())
                           ? WalkResult::interrupt()
                           : WalkResult::advance();
              })
              .wasInterrupted();
}

void makeInnermostSequential(scf::ParallelOp loop) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  unsigned outer = loop.getNumLoops() - 1;
  Block *body = loop.getBody();
  auto outerLoop = scf::ParallelOp::create(
      b, loc, loop.getLowerBound().take_front(outer),
      loop.getUpperBound().take_front(outer), loop.getStep().take_front(outer),
      [&](OpBuilder &pb, Location, ValueRange outerIvs) {
        scf::ForOp::create(
            pb, loc, loop.getLowerBound()[outer], loop.getUpperBound()[outer],
            loop.getStep()[outer], ValueRange{},
            [&](OpBuilder &fb, Location, Value innerIv, ValueRange) {
              IRMapping mapping;
              for (unsigned i = 0; i < outer; ++i)
                mapping.map(body->getArgument(i), outerIvs[i]);
              mapping.map(body->getArgument(outer), innerIv);
              for (Operation &op : body->without_terminator())
                fb.clone(op, mapping);
              scf::YieldOp::create(fb, loc);
            });
      });
  outerLoop->setAttrs(loop->getDiscardableAttrDictionary());
  loop->erase();
}

/// An scf.parallel inside another (a kernel inside a strip of
/// matc-cpu-fuse-ffn-epilogue) as a nest of scf.for: the enclosing loop
/// already shares out the work. A stack buffer of static size that the
/// body allocates (the packed kernel's panel) is allocated once before the
/// nest: each iteration gets a buffer whose contents it must not read
/// before writing, as before, without growing the stack every iteration.
/// Returns false, leaving the loop alone, if the body allocates on the
/// stack with a dynamic size.
bool makeSequential(scf::ParallelOp loop) {
  Block *body = loop.getBody();
  for (Operation &op : body->without_terminator())
    if (auto alloca = dyn_cast<memref::AllocaOp>(op);
        alloca && !alloca.getType().hasStaticShape())
      return false;
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  IRMapping mapping;
  for (Operation &op : body->without_terminator())
    if (isa<memref::AllocaOp>(op))
      b.clone(op, mapping);
  std::function<void(OpBuilder &, unsigned)> nest = [&](OpBuilder &nb,
                                                        unsigned dim) {
    if (dim == loop.getNumLoops()) {
      for (Operation &op : body->without_terminator())
        if (!isa<memref::AllocaOp>(op))
          nb.clone(op, mapping);
      return;
    }
    scf::ForOp::create(nb, loc, loop.getLowerBound()[dim],
                       loop.getUpperBound()[dim], loop.getStep()[dim],
                       ValueRange{},
                       [&](OpBuilder &fb, Location, Value iv, ValueRange) {
                         mapping.map(body->getArgument(dim), iv);
                         nest(fb, dim + 1);
                         scf::YieldOp::create(fb, loc);
                       });
  };
  nest(b, 0);
  loop->erase();
  return true;
}

struct SequentialInnerLoopsPass
    : matc::cpu::impl::SequentialInnerLoopsBase<SequentialInnerLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops, nested;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (loop.getNumResults() == 0 &&
          loop->getParentOfType<scf::ParallelOp>())
        nested.push_back(loop);
      else if (isScalarParallelNest(loop))
        loops.push_back(loop);
    });
    // Post-order: inner loops first, so no erased loop is visited again.
    for (scf::ParallelOp loop : nested)
      (void)makeSequential(loop);
    for (scf::ParallelOp loop : loops)
      makeInnermostSequential(loop);
  }
};

} // namespace

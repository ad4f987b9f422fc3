//===- KeepLayerActivations.cpp - a layer's backward reads its forward ----===//
//
// matformer-reverse-mode gives each layer a backward function B(args, d out)
// that recomputes the layer's body from `args` (input, weights, width)
// before it sweeps it, and each op's derivative recomputes the op's own
// internals (the FFN's gate and up products, the attention probabilities).
// A training loss calls the layer's forward F(args) and later B(args, d out)
// on the same values. Everything in B that depends on `args` alone (B's
// primal part) is a function of what F was given, so F can compute it.
//
// For each such pair of calls this pass builds F' (F that also runs B's
// primal part and returns, after F's own results, the values B's other ops
// read: the tape) and B' (B with the tape as extra arguments and its primal
// part gone), and calls them instead. CSE then merges the moved ops with
// F's own where they are the same linalg on the same arguments (the
// projections, RoPE, the norms, the attention core; the FFN's gate and up,
// which F computed too), so they run once per step instead of twice. Ops
// that read no computed data (empty tensors, fills, views, index
// arithmetic) stay in B' rather than be kept.
//
// The price is memory: the tape of every layer lives from the forward to
// that layer's backward, within one call of the loss (one sequence).
//
//===----------------------------------------------------------------------===//
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace matc {
#define GEN_PASS_DEF_KEEPLAYERACTIVATIONS
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;

namespace {

/// The values `op` reads: its operands and what its regions use from above.
SmallVector<Value> readValues(Operation *op) {
  SmallVector<Value> values(op->getOperands());
  llvm::SetVector<Value> captured;
  for (Region &region : op->getRegions())
    getUsedValuesDefinedAbove(region, captured);
  values.append(captured.begin(), captured.end());
  return values;
}

/// Recomputing `op` reads no computed data: keeping its result would cost
/// memory for nothing.
bool isCheap(Operation *op) {
  if (isa<tensor::EmptyOp, linalg::FillOp, tensor::DimOp,
          tensor::ExtractSliceOp, tensor::ExpandShapeOp,
          tensor::CollapseShapeOp, tensor::CastOp, arith::ConstantOp>(op))
    return true;
  return op->getNumRegions() == 0 &&
         llvm::none_of(op->getResultTypes(),
                       [](Type type) { return isa<ShapedType>(type); });
}

/// B's primal part and its tape, for a backward whose first `numPrimal`
/// arguments are the forward's.
struct PrimalPart {
  SmallVector<Operation *> ops;
  llvm::SetVector<Value> tape;
};

PrimalPart findPrimalPart(func::FuncOp backward, unsigned numPrimal) {
  PrimalPart part;
  Block &body = backward.getBody().front();
  DenseSet<Operation *> primal;
  auto isPrimal = [&](Value value) {
    if (auto arg = dyn_cast<BlockArgument>(value))
      return arg.getOwner() == &body && arg.getArgNumber() < numPrimal;
    return primal.contains(value.getDefiningOp());
  };
  for (Operation &op : body.without_terminator()) {
    if (!isMemoryEffectFree(&op) || !llvm::all_of(readValues(&op), isPrimal))
      continue;
    primal.insert(&op);
    part.ops.push_back(&op);
  }
  // What the rest of B reads from the primal part; cheap ops stay in B',
  // so what they read is needed in turn.
  DenseSet<Value> needed;
  auto need = [&](Operation *op) {
    for (Value value : readValues(op))
      if (value.getDefiningOp() && primal.contains(value.getDefiningOp()))
        needed.insert(value);
  };
  for (Operation &op : body)
    if (!primal.contains(&op))
      need(&op);
  SmallVector<Value> tape;
  for (Operation *op : llvm::reverse(part.ops)) {
    if (llvm::none_of(op->getResults(),
                      [&](Value result) { return needed.contains(result); }))
      continue;
    if (isCheap(op)) {
      need(op);
      continue;
    }
    for (Value result : op->getResults())
      if (needed.contains(result))
        tape.push_back(result);
  }
  part.tape.insert(tape.rbegin(), tape.rend());
  return part;
}

/// Erases the ops of `body` that nothing uses and that have no effect.
void eraseDeadOps(Block &body) {
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      op->erase();
}

/// F' and B' for one (F, B) pair.
struct KeptPair {
  func::FuncOp forward, backward;
};

/// Builds F' and B', or returns an empty pair where B has no primal part
/// worth keeping.
KeptPair keepActivations(func::FuncOp forward, func::FuncOp backward,
                         SymbolTable &symbols) {
  unsigned numPrimal = forward.getNumArguments();
  PrimalPart part = findPrimalPart(backward, numPrimal);
  if (part.tape.empty())
    return {};

  // F': F, then B's primal part on F's arguments, returning the tape too.
  func::FuncOp keeping = forward.clone();
  keeping.setName((forward.getName() + "_keeping").str());
  symbols.insert(keeping, Block::iterator(forward.getOperation()));
  Block &keepingBody = keeping.getBody().front();
  auto forwardReturn = cast<func::ReturnOp>(keepingBody.getTerminator());
  IRMapping mapping;
  for (unsigned i = 0; i < numPrimal; ++i)
    mapping.map(backward.getArgument(i), keeping.getArgument(i));
  OpBuilder b(forwardReturn);
  for (Operation *op : part.ops)
    b.clone(*op, mapping);
  SmallVector<Value> results(forwardReturn.getOperands());
  for (Value value : part.tape)
    results.push_back(mapping.lookup(value));
  func::ReturnOp::create(b, forwardReturn.getLoc(), results);
  forwardReturn.erase();
  eraseDeadOps(keepingBody);
  // Sizes asked of computed tensors become sizes of F's arguments, spelled
  // alike in F's ops and the moved ones, so that CSE can merge them.
  RewritePatternSet patterns(keeping.getContext());
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  (void)applyPatternsGreedily(keeping, std::move(patterns));
  keeping.setType(FunctionType::get(keeping.getContext(),
                                    keeping.getArgumentTypes(),
                                    ValueRange(results).getTypes()));

  // B': B reading the tape from arguments after its own.
  IRMapping backwardMapping;
  func::FuncOp reading = backward.clone(backwardMapping);
  reading.setName((backward.getName() + "_reading").str());
  symbols.insert(reading, Block::iterator(backward.getOperation()));
  for (Value value : part.tape) {
    unsigned index = reading.getNumArguments();
    if (failed(
            reading.insertArgument(index, value.getType(), {}, value.getLoc())))
      llvm_unreachable("a func.func takes any argument");
    backwardMapping.lookup(value).replaceAllUsesWith(
        reading.getArgument(index));
  }
  eraseDeadOps(reading.getBody().front());
  return {keeping, reading};
}

/// A forward call and a later call in the same block whose leading
/// operands are the forward's (and more of them).
struct CallPair {
  func::CallOp forward, backward;
};

SmallVector<CallPair> findCallPairs(ModuleOp module) {
  SmallVector<CallPair> pairs;
  module.walk([&](Block *block) {
    SmallVector<func::CallOp> calls(block->getOps<func::CallOp>());
    DenseSet<Operation *> paired;
    for (auto [i, later] : llvm::enumerate(calls))
      for (func::CallOp earlier :
           llvm::reverse(ArrayRef(calls).take_front(i))) {
        unsigned n = earlier.getNumOperands();
        if (n == 0 || paired.contains(earlier) || later.getNumOperands() <= n ||
            later.getCallee() == earlier.getCallee() ||
            !llvm::equal(later.getOperands().take_front(n),
                         earlier.getOperands()))
          continue;
        pairs.push_back({earlier, later});
        paired.insert(earlier);
        break;
      }
  });
  return pairs;
}

struct KeepLayerActivationsPass
    : matc::impl::KeepLayerActivationsBase<KeepLayerActivationsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    DenseMap<std::pair<Operation *, Operation *>, KeptPair> built;
    DenseSet<Operation *> replaced;
    for (CallPair pair : findCallPairs(module)) {
      auto forward = symbols.lookup<func::FuncOp>(pair.forward.getCallee());
      auto backward = symbols.lookup<func::FuncOp>(pair.backward.getCallee());
      if (!forward || !backward || forward.isExternal() ||
          backward.isExternal() || !forward.isPrivate() ||
          !backward.isPrivate() || !backward.getBody().hasOneBlock() ||
          !forward.getBody().hasOneBlock())
        continue;
      auto key =
          std::make_pair(forward.getOperation(), backward.getOperation());
      auto [slot, isNew] = built.try_emplace(key);
      if (isNew)
        slot->second = keepActivations(forward, backward, symbols);
      KeptPair kept = slot->second;
      if (!kept.forward)
        continue;

      OpBuilder b(pair.forward);
      auto forwardCall = func::CallOp::create(
          b, pair.forward.getLoc(), kept.forward, pair.forward.getOperands());
      unsigned numResults = pair.forward.getNumResults();
      pair.forward.replaceAllUsesWith(
          forwardCall.getResults().take_front(numResults));
      SmallVector<Value> operands(pair.backward.getOperands());
      llvm::append_range(operands,
                         forwardCall.getResults().drop_front(numResults));
      b.setInsertionPoint(pair.backward);
      auto backwardCall = func::CallOp::create(b, pair.backward.getLoc(),
                                               kept.backward, operands);
      pair.backward.replaceAllUsesWith(backwardCall.getResults());
      pair.forward.erase();
      pair.backward.erase();
      replaced.insert(forward);
      replaced.insert(backward);
    }
    // F and B themselves go where every call now goes to F' and B'.
    for (Operation *function : replaced)
      if (SymbolTable::symbolKnownUseEmpty(function, module))
        function->erase();
  }
};

} // namespace

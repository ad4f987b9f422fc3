//===- BackendCommon.cpp - what every back end does the same way ----------===//
#include "matc/Passes/BackendCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

void matc::addUpstreamPasses(OpPassManager &pm, llvm::StringRef pipeline) {
  if (failed(parsePassPipeline(pipeline, pm)))
    llvm::report_fatal_error(llvm::Twine("matc: bad built-in pipeline: ") +
                             pipeline);
}

void matc::addBufferization(OpPassManager &pm) {
  addUpstreamPasses(
      pm,
      "eliminate-empty-tensors,"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "canonicalize,"
      "buffer-deallocation-pipeline{private-function-dynamic-ownership=true},"
      "convert-bufferization-to-memref");
}

namespace {

/// A memref whose innermost dimension is contiguous (unit stride along k).
bool hasUnitInnerStride(Value memref) {
  auto type = dyn_cast<MemRefType>(memref.getType());
  if (!type || type.getRank() < 1)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

/// f32 activations and output, f32 or bf16 weights.
bool hasKernelElementTypes(Value a, Value b, Value c) {
  auto elementType = [](Value v) {
    return cast<MemRefType>(v.getType()).getElementType();
  };
  return elementType(a).isF32() && elementType(c).isF32() &&
         (elementType(b).isF32() || elementType(b).isBF16());
}

/// `value` is `arg` itself or `arith.extf arg` (a bf16 weight widened).
bool isArgumentOrItsExtension(Value value, BlockArgument arg) {
  if (value == arg)
    return true;
  auto ext = value.getDefiningOp<arith::ExtFOp>();
  return ext && ext.getIn() == arg;
}

/// The body is exactly `yield out + ext?(in0) * ext?(in1)`, the add and the
/// multiply in either operand order, and nothing else: counting ops would
/// also accept look-alikes such as `(in0 + out) * in1`, `in0 * in1 + in0`
/// or `in0 * in0 + out`.
bool isMultiplyAccumulateBody(Block &body) {
  if (body.getNumArguments() != 3)
    return false;
  BlockArgument in0 = body.getArgument(0), in1 = body.getArgument(1),
                out = body.getArgument(2);
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != &body)
    return false;
  Value product;
  if (add.getLhs() == out)
    product = add.getRhs();
  else if (add.getRhs() == out)
    product = add.getLhs();
  else
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || mul->getBlock() != &body)
    return false;
  Value lhs = mul.getLhs(), rhs = mul.getRhs();
  if (!(isArgumentOrItsExtension(lhs, in0) &&
        isArgumentOrItsExtension(rhs, in1)) &&
      !(isArgumentOrItsExtension(lhs, in1) &&
        isArgumentOrItsExtension(rhs, in0)))
    return false;
  // add, mul, their extensions and the yield: nothing else computes.
  size_t ops =
      3 + (lhs.getDefiningOp() ? 1 : 0) + (rhs.getDefiningOp() ? 1 : 0);
  return body.getOperations().size() == ops;
}

/// What every CPU kernel needs of a linalg op, whatever its maps: two
/// memref inputs and one memref output, a contraction per linalg's
/// interface, the kernel's element types and exactly a multiply-accumulate
/// body.
bool isKernelMultiplyAccumulate(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return false;
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1],
        c = op.getDpsInits()[0];
  return isa<MemRefType>(a.getType()) && isa<MemRefType>(b.getType()) &&
         isa<MemRefType>(c.getType()) && hasKernelElementTypes(a, b, c) &&
         isMultiplyAccumulateBody(*op.getBlock());
}

/// `outs[m, n] += ins0[m, k] * ins1[n, k]` on buffers, with f32 activations
/// and output and f32 or bf16 weights: a linalg.generic or a named
/// linalg.matmul with these indexing maps. Recognized as a contraction by
/// linalg's interface first, then by its exact maps and body.
} // namespace

bool matc::isProjection(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 3 || !linalg::isaContractionOpInterface(op))
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::parallel ||
      iterators[2] != utils::IteratorType::reduction)
    return false;
  MLIRContext *context = op.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  auto expected = AffineMap::inferFromExprList(
      ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {n, k}, {m, n}}, context);
  return op.getIndexingMapsArray() == ArrayRef<AffineMap>(expected);
}

bool matc::isMatmulTransposedB(linalg::LinalgOp op) {
  return op.hasPureBufferSemantics() && isProjection(op) &&
         matchRowContraction(op).has_value();
}

std::optional<matc::RowContraction>
matc::matchRowContraction(linalg::LinalgOp op) {
  if (!isKernelMultiplyAccumulate(op) ||
      !hasUnitInnerStride(op.getDpsInputs()[0]) ||
      !hasUnitInnerStride(op.getDpsInputs()[1]))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!llvm::all_of(maps, [](AffineMap map) {
        return map.isProjectedPermutation(/*allowZeroInResults=*/false);
      }))
    return std::nullopt;
  RowContraction dims;
  std::optional<unsigned> reduction;
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (iterator != utils::IteratorType::reduction)
      continue;
    if (reduction)
      return std::nullopt;
    reduction = dim;
  }
  if (!reduction || maps[0].getNumResults() == 0 ||
      maps[1].getNumResults() == 0 ||
      maps[0].getResults().back() !=
          getAffineDimExpr(*reduction, op.getContext()) ||
      maps[1].getResults().back() !=
          getAffineDimExpr(*reduction, op.getContext()))
    return std::nullopt;
  dims.k = *reduction;
  for (unsigned dim = 0; dim < op.getNumLoops(); ++dim) {
    if (dim == dims.k)
      continue;
    bool inA = maps[0].isFunctionOfDim(dim), inB = maps[1].isFunctionOfDim(dim);
    if (!maps[2].isFunctionOfDim(dim))
      return std::nullopt;
    if (inA && inB)
      dims.batch.push_back(dim);
    else if (inA)
      dims.m.push_back(dim);
    else if (inB)
      dims.n.push_back(dim);
    else
      return std::nullopt;
  }
  if (dims.m.empty() || dims.n.empty())
    return std::nullopt;
  return dims;
}

std::optional<matc::ColumnContraction>
matc::matchColumnContraction(linalg::LinalgOp op) {
  if (!isKernelMultiplyAccumulate(op) ||
      !hasUnitInnerStride(op.getDpsInits()[0]))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!llvm::all_of(maps, [](AffineMap map) {
        return map.getNumResults() > 0 &&
               map.isProjectedPermutation(/*allowZeroInResults=*/false);
      }))
    return std::nullopt;
  ColumnContraction dims;
  dims.n = cast<AffineDimExpr>(maps[2].getResults().back()).getPosition();
  // `b` holds n innermost and contiguously; `a` (f32) does not hold n.
  auto isB = [&](unsigned input) {
    Value operand = op.getDpsInputs()[input];
    return maps[input].getResults().back() ==
               getAffineDimExpr(dims.n, op.getContext()) &&
           hasUnitInnerStride(operand) &&
           !maps[1 - input].isFunctionOfDim(dims.n) &&
           cast<MemRefType>(op.getDpsInputs()[1 - input].getType())
               .getElementType()
               .isF32();
  };
  if (isB(1))
    dims.aInput = 0;
  else if (isB(0))
    dims.aInput = 1;
  else
    return std::nullopt;
  AffineMap aMap = maps[dims.aInput], bMap = maps[1 - dims.aInput];
  SmallVector<int64_t> staticSizes = op.getStaticLoopRanges();
  SmallVector<unsigned> reductions;
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    bool inA = aMap.isFunctionOfDim(dim), inB = bMap.isFunctionOfDim(dim),
         inC = maps[2].isFunctionOfDim(dim);
    if (iterator == utils::IteratorType::reduction) {
      if (!inA || !inB || inC)
        return std::nullopt;
      reductions.push_back(dim);
    } else if (dim == dims.n) {
      continue;
    } else if (inA && inB && inC) {
      dims.batch.push_back(dim);
    } else if (inA && !inB && inC) {
      dims.m.push_back(dim);
    } else {
      return std::nullopt;
    }
  }
  if (reductions.empty() || dims.m.empty())
    return std::nullopt;
  // k runs the kernel's inner loop: the longest reduction.
  dims.k = reductions.front();
  for (unsigned dim : reductions)
    if (ShapedType::isDynamic(staticSizes[dim]) ||
        (!ShapedType::isDynamic(staticSizes[dims.k]) &&
         staticSizes[dim] > staticSizes[dims.k]))
      dims.k = dim;
  for (unsigned dim : reductions)
    if (dim != dims.k)
      dims.reductions.push_back(dim);
  return dims;
}

//===- LinalgBuilders.cpp - small linalg building blocks -------------------===//
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

SmallVector<AffineMap>
matc::indexingMaps(MLIRContext *context,
                   ArrayRef<ArrayRef<AffineExpr>> operands) {
  return llvm::to_vector(AffineMap::inferFromExprList(operands, context));
}

OpFoldResult matc::dimSize(OpBuilder &b, Location loc, Value tensor,
                           int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(dim))
    return b.getIndexAttr(type.getDimSize(dim));
  return tensor::DimOp::create(b, loc, tensor, dim).getResult();
}

Value matc::filledTensor(OpBuilder &b, Location loc,
                         ArrayRef<OpFoldResult> sizes, Type elementType,
                         double value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value scalar = arith::ConstantOp::create(
      b, loc, elementType, b.getFloatAttr(elementType, value));
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

Value matc::toF32(OpBuilder &b, Location loc, Value scalar) {
  Type f32 = b.getF32Type();
  if (scalar.getType() == f32)
    return scalar;
  return arith::ExtFOp::create(b, loc, f32, scalar);
}

Value matc::multiplyAccumulate(OpBuilder &b, Location loc, ValueRange inputs,
                               Value init, ArrayRef<AffineMap> maps,
                               ArrayRef<utils::IteratorType> iterators) {
  auto contraction = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, ValueRange{init}, maps, iterators,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        auto flags = arith::FastMathFlagsAttr::get(
            nb.getContext(),
            arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
        Value product = arith::MulFOp::create(nb, nloc, toF32(nb, nloc, args[0]),
                                              toF32(nb, nloc, args[1]), flags);
        Value sum = arith::AddFOp::create(nb, nloc, args[2], product, flags);
        linalg::YieldOp::create(nb, nloc, sum);
      });
  return contraction.getResult(0);
}

Value matc::matmulTransposedB(OpBuilder &b, Location loc, Value a, Value w) {
  MLIRContext *context = b.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  Value init = filledTensor(b, loc, {dimSize(b, loc, a, 0), dimSize(b, loc, w, 0)},
                            b.getF32Type(), 0.0);
  return multiplyAccumulate(
      b, loc, {a, w}, init, indexingMaps(context, {{m, k}, {n, k}, {m, n}}),
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction});
}

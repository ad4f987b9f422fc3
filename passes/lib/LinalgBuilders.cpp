//===- LinalgBuilders.cpp - small linalg building blocks -------------------===//
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
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

Value matc::mapElements(
    OpBuilder &b, Location loc, Value like, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(dimSize(b, loc, like, d));
  Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl,
                                       body(nb, nl, args.drop_back()));
             })
      .getResult(0);
}

Value matc::constantF32(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32Type(),
                                   b.getF32FloatAttr(static_cast<float>(value)));
}

/// A [rows] reduction of a [rows, columns] tensor: init, then
/// `combine(accumulator, element, extra inputs' elements...)`.
static Value reduceRows(OpBuilder &b, Location loc, Value x, ValueRange rowInputs,
                        double init,
                        function_ref<Value(OpBuilder &, Location, ValueRange)> combine) {
  MLIRContext *context = b.getContext();
  AffineExpr t, j;
  bindDims(context, t, j);
  Value acc = matc::filledTensor(b, loc, {matc::dimSize(b, loc, x, 0)},
                                 b.getF32Type(), init);
  SmallVector<Value> inputs = {x};
  inputs.append(rowInputs.begin(), rowInputs.end());
  SmallVector<SmallVector<AffineExpr>> exprs = {{t, j}};
  for (size_t i = 0; i < rowInputs.size(); ++i)
    exprs.push_back({t});
  exprs.push_back({t});
  SmallVector<ArrayRef<AffineExpr>> refs(exprs.begin(), exprs.end());
  return linalg::GenericOp::create(
             b, loc, acc.getType(), inputs, ValueRange{acc},
             matc::indexingMaps(context, refs),
             {utils::IteratorType::parallel, utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               SmallVector<Value> operands = {args.back(), args[0]};
               for (Value arg : args.drop_front().drop_back())
                 operands.push_back(arg);
               linalg::YieldOp::create(nb, nl, combine(nb, nl, operands));
             })
      .getResult(0);
}

Value matc::rowMax(OpBuilder &b, Location loc, Value x) {
  return reduceRows(b, loc, x, {}, -std::numeric_limits<double>::infinity(),
                    [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                      return arith::MaximumFOp::create(nb, nl, args[0], args[1]);
                    });
}

Value matc::rowLogSumExp(OpBuilder &b, Location loc, Value x) {
  Value max = rowMax(b, loc, x);
  Value sum = reduceRows(b, loc, x, {max}, 0.0,
                         [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                           Value shifted = arith::SubFOp::create(nb, nl, args[1], args[2]);
                           // Reassociable, so the sum vectorizes.
                           return arith::AddFOp::create(
                               nb, nl, args[0], math::ExpOp::create(nb, nl, shifted),
                               arith::FastMathFlags::reassoc);
                         });
  return mapElements(b, loc, max, {max, sum},
                     [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                       return arith::AddFOp::create(
                           nb, nl, args[0], math::LogOp::create(nb, nl, args[1]));
                     });
}

Value matc::rowCrossEntropy(OpBuilder &b, Location loc, Value logits,
                            Value targets) {
  Value logSumExp = rowLogSumExp(b, loc, logits);
  MLIRContext *context = b.getContext();
  AffineExpr t;
  bindDims(context, t);
  Value init = tensor::EmptyOp::create(b, loc, {dimSize(b, loc, logits, 0)},
                                       b.getF32Type());
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{logSumExp, targets},
             ValueRange{init}, indexingMaps(context, {{t}, {t}, {t}}),
             {utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value row = linalg::IndexOp::create(nb, nl, 0);
               Value column = arith::IndexCastOp::create(
                   nb, nl, nb.getIndexType(), args[1]);
               Value target = tensor::ExtractOp::create(
                   nb, nl, logits, ValueRange{row, column});
               linalg::YieldOp::create(
                   nb, nl, arith::SubFOp::create(nb, nl, args[0], target).getResult());
             })
      .getResult(0);
}

Value matc::sumAll(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  Value acc = filledTensor(b, loc, {}, b.getF32Type(), 0.0);
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::reduction);
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(type.getRank()),
      AffineMap::get(type.getRank(), 0, {}, b.getContext())};
  return linalg::GenericOp::create(
             b, loc, acc.getType(), ValueRange{x}, ValueRange{acc}, maps,
             iterators,
             [](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nl, arith::AddFOp::create(nb, nl, args[1], args[0]).getResult());
             })
      .getResult(0);
}

Value matc::scaleScalarTensor(OpBuilder &b, Location loc, Value x,
                              Value factor) {
  return mapElements(b, loc, x, {x},
                     [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                       return arith::MulFOp::create(nb, nl, args[0], factor);
                     });
}

Value matc::reciprocalOfSize(OpBuilder &b, Location loc, OpFoldResult size) {
  Value index = getValueOrCreateConstantIndexOp(b, loc, size);
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  Value asFloat = arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
  return arith::DivFOp::create(b, loc, constantF32(b, loc, 1.0), asFloat);
}

Value matc::buildGeneric(
    OpBuilder &b, Location loc, ValueRange inputs,
    ArrayRef<SmallVector<AffineExpr>> inputExprs, ArrayRef<AffineExpr> resultExprs,
    ArrayRef<OpFoldResult> resultSizes, ArrayRef<utils::IteratorType> iterators,
    double init, function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *context = b.getContext();
  Value acc = filledTensor(b, loc, resultSizes, b.getF32Type(), init);
  SmallVector<AffineMap> maps;
  for (ArrayRef<AffineExpr> exprs : inputExprs)
    maps.push_back(AffineMap::get(iterators.size(), 0, exprs, context));
  maps.push_back(AffineMap::get(iterators.size(), 0, resultExprs, context));
  return linalg::GenericOp::create(
             b, loc, acc.getType(), inputs, ValueRange{acc}, maps, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, body(nb, nl, args));
             })
      .getResult(0);
}

Value matc::matmul(OpBuilder &b, Location loc, Value a, Value w) {
  MLIRContext *context = b.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  Value init = filledTensor(b, loc, {dimSize(b, loc, a, 0), dimSize(b, loc, w, 1)},
                            b.getF32Type(), 0.0);
  return multiplyAccumulate(
      b, loc, {a, w}, init, indexingMaps(context, {{m, k}, {k, n}, {m, n}}),
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction});
}

Value matc::matmulTransposedA(OpBuilder &b, Location loc, Value a, Value w) {
  MLIRContext *context = b.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  Value init = filledTensor(b, loc, {dimSize(b, loc, a, 1), dimSize(b, loc, w, 1)},
                            b.getF32Type(), 0.0);
  return multiplyAccumulate(
      b, loc, {a, w}, init, indexingMaps(context, {{k, m}, {k, n}, {m, n}}),
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction});
}

Value matc::addTensors(OpBuilder &b, Location loc, Value a, Value c) {
  return mapElements(b, loc, a, {a, c},
                     [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                       return arith::AddFOp::create(nb, nl, args[0], args[1]);
                     });
}

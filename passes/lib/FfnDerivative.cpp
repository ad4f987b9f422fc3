//===- FfnDerivative.cpp - the backward of matformer.nested_ffn -----------===//
//
// With W = width, g = x gate[:W]^T, u = x up[:W]^T, a = act(g), h = a * u,
// y = h down[:, :W]^T:
//   dh = dy down[:, :W]      d down[:, :W] = dy^T h
//   dg = dh * u * act'(g)    du = dh * a
//   d gate[:W] = dg^T x      d up[:W] = du^T x
//   dx = dg gate[:W] + du up[:W]
// g and u are recomputed (the op's internals are not kept); the weight
// gradients are zero outside rows [0, W) of gate and up and columns [0, W)
// of down, so granularities accumulate into the shared prefix.
//
//===----------------------------------------------------------------------===//
#include "OpDerivatives.h"
#include "matc/Passes/Activations.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace matc::matformer;

/// `part` (of `partSizes`) written into a zero tensor of `type` at offset 0.
static Value padWithZeros(OpBuilder &b, Location loc, Value part,
                          ArrayRef<OpFoldResult> partSizes,
                          RankedTensorType type) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t size : type.getShape())
    sizes.push_back(b.getIndexAttr(size));
  Value zeros = matc::filledTensor(b, loc, sizes, b.getF32Type(), 0.0);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return tensor::InsertSliceOp::create(
      b, loc, part, zeros, {zero, zero}, partSizes, {one, one});
}

void matc::buildNestedFfnGradients(OpBuilder &b, NestedFfnOp op, Value dy,
                                   SmallVectorImpl<Value> &gradients) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto gateType = cast<RankedTensorType>(op.getGate().getType());
  auto downType = cast<RankedTensorType>(op.getDown().getType());
  int64_t hidden = gateType.getDimSize(1);
  std::optional<uint64_t> staticWidth = op.getStaticWidth();
  if (staticWidth && *staticWidth == 0) {
    // The FFN adds nothing: no gradient for anything.
    gradients.append(op->getNumOperands(), Value());
    return;
  }
  OpFoldResult width = op.getDynamicWidth()
                           ? OpFoldResult(op.getDynamicWidth())
                           : OpFoldResult(b.getIndexAttr(*staticWidth));
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
               hiddenSize = b.getIndexAttr(hidden);
  auto rows = [&](Value weight) -> Value {
    return tensor::ExtractSliceOp::create(b, loc, weight, {zero, zero},
                                          {width, hiddenSize}, {one, one});
  };
  Value gateRows = rows(op.getGate()), upRows = rows(op.getUp());
  Value downColumns = tensor::ExtractSliceOp::create(
      b, loc, op.getDown(), {zero, zero}, {hiddenSize, width}, {one, one});

  Value g = matc::matmulTransposedB(b, loc, x, gateRows);
  Value u = matc::matmulTransposedB(b, loc, x, upRows);
  Activation act = op.getActivation();
  Value h = matc::mapElements(
      b, loc, g, {g, u}, [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::MulFOp::create(nb, nl, matc::activate(nb, nl, act, args[0]),
                                     args[1]);
      });
  Value dh = matc::matmul(b, loc, dy, downColumns);
  Value dDownColumns = matc::matmulTransposedA(b, loc, dy, h);
  Value dg = matc::mapElements(
      b, loc, g, {dh, g, u},
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value slope = matc::activateDerivative(nb, nl, act, args[1]);
        return arith::MulFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, args[0], args[2]), slope);
      });
  Value du = matc::mapElements(
      b, loc, g, {dh, g}, [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::MulFOp::create(nb, nl, args[0],
                                     matc::activate(nb, nl, act, args[1]));
      });
  Value dGateRows = matc::matmulTransposedA(b, loc, dg, x);
  Value dUpRows = matc::matmulTransposedA(b, loc, du, x);
  Value dx = matc::addTensors(b, loc, matc::matmul(b, loc, dg, gateRows),
                              matc::matmul(b, loc, du, upRows));
  auto inputType = cast<RankedTensorType>(x.getType());
  if (dx.getType() != inputType)
    dx = tensor::CastOp::create(b, loc, inputType, dx);

  auto f32Type = [&](RankedTensorType type) {
    return RankedTensorType::get(type.getShape(), b.getF32Type());
  };
  // Operands: input, gate, up, down, then the run-time width if any.
  gradients.append(
      {dx, padWithZeros(b, loc, dGateRows, {width, hiddenSize}, f32Type(gateType)),
       padWithZeros(b, loc, dUpRows, {width, hiddenSize}, f32Type(gateType)),
       padWithZeros(b, loc, dDownColumns, {hiddenSize, width}, f32Type(downType))});
  if (op.getDynamicWidth())
    gradients.push_back(Value());
}

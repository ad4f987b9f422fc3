//===- Activations.cpp - the FFN's gated activations and derivatives ------===//
#include "matc/Passes/Activations.h"
#include "matc/Passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using matc::constantF32;
using matc::matformer::Activation;

namespace {
constexpr double kGeluCubic = 0.044715;

/// sqrt(2/pi) (x + 0.044715 x^3), the argument of gelu_tanh's tanh.
Value geluInner(OpBuilder &b, Location l, Value x) {
  Value cube = arith::MulFOp::create(b, l, x, arith::MulFOp::create(b, l, x, x));
  Value inner = arith::AddFOp::create(
      b, l, x, arith::MulFOp::create(b, l, constantF32(b, l, kGeluCubic), cube));
  return arith::MulFOp::create(b, l, constantF32(b, l, std::sqrt(2.0 / M_PI)),
                               inner);
}

/// 1 / (1 + exp(-x))
Value sigmoid(OpBuilder &b, Location l, Value x) {
  Value negated = arith::NegFOp::create(b, l, x);
  Value denominator = arith::AddFOp::create(
      b, l, constantF32(b, l, 1.0), math::ExpOp::create(b, l, negated));
  return arith::DivFOp::create(b, l, constantF32(b, l, 1.0), denominator);
}
} // namespace

Value matc::activate(OpBuilder &b, Location l, Activation act, Value x) {
  Value one = constantF32(b, l, 1.0);
  if (act == Activation::silu) {
    Value negated = arith::NegFOp::create(b, l, x);
    Value denominator =
        arith::AddFOp::create(b, l, one, math::ExpOp::create(b, l, negated));
    return arith::DivFOp::create(b, l, x, denominator);
  }
  // gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Value gate = arith::AddFOp::create(
      b, l, one, math::TanhOp::create(b, l, geluInner(b, l, x)));
  return arith::MulFOp::create(
      b, l, arith::MulFOp::create(b, l, constantF32(b, l, 0.5), x), gate);
}

Value matc::activateDerivative(OpBuilder &b, Location l, Activation act,
                               Value x) {
  Value one = constantF32(b, l, 1.0);
  if (act == Activation::silu) {
    // s + x s (1 - s), s = sigmoid(x)
    Value s = sigmoid(b, l, x);
    Value oneMinus = arith::SubFOp::create(b, l, one, s);
    Value tail = arith::MulFOp::create(
        b, l, x, arith::MulFOp::create(b, l, s, oneMinus));
    return arith::AddFOp::create(b, l, s, tail);
  }
  // 0.5 (1 + th) + 0.5 x (1 - th^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
  Value th = math::TanhOp::create(b, l, geluInner(b, l, x));
  Value half = constantF32(b, l, 0.5);
  Value first = arith::MulFOp::create(b, l, half,
                                      arith::AddFOp::create(b, l, one, th));
  Value sech2 = arith::SubFOp::create(b, l, one,
                                      arith::MulFOp::create(b, l, th, th));
  Value x2 = arith::MulFOp::create(b, l, x, x);
  Value innerDerivative = arith::MulFOp::create(
      b, l, constantF32(b, l, std::sqrt(2.0 / M_PI)),
      arith::AddFOp::create(
          b, l, one,
          arith::MulFOp::create(b, l, constantF32(b, l, 3 * kGeluCubic), x2)));
  Value second = arith::MulFOp::create(
      b, l, arith::MulFOp::create(b, l, half, x),
      arith::MulFOp::create(b, l, sech2, innerDerivative));
  return arith::AddFOp::create(b, l, first, second);
}

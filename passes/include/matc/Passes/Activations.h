//===- Activations.h - the FFN's gated activations --------------*- C++ -*-===//
//
// One scalar definition of each activation and of its derivative, shared by
// the forward lowering and the FFN's derivative.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_PASSES_ACTIVATIONS_H
#define MATC_PASSES_ACTIVATIONS_H

#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/Builders.h"

namespace matc {

/// act(x) for an f32 scalar: silu, or gelu_pytorch_tanh.
mlir::Value activate(mlir::OpBuilder &b, mlir::Location loc,
                     matformer::Activation act, mlir::Value x);

/// d act(x) / dx for an f32 scalar.
mlir::Value activateDerivative(mlir::OpBuilder &b, mlir::Location loc,
                               matformer::Activation act, mlir::Value x);

} // namespace matc

#endif

//===- Derivatives.h - derivatives of the ops a model is made of -*- C++ -*-===//
//
// Attaches matformer::DifferentiableOpInterface (dialect/) to the ops a
// forward + loss function holds: the matformer model ops and the residual
// `arith.addf`. The models emit linalg, tensor, arith and scf on tensors with
// the middle's builders (LinalgBuilders.h), so the backward is lowered and
// compiled like the forward. `matformer-reverse-mode` registers them itself.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_PASSES_DERIVATIVES_H
#define MATC_PASSES_DERIVATIVES_H

#include "mlir/IR/DialectRegistry.h"

namespace matc {

void registerDerivativeInterfaceModels(mlir::DialectRegistry &registry);

} // namespace matc

#endif

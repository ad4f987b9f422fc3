//===- DerivativeInterface.h - reverse-mode derivatives of ops --*- C++ -*-===//
#ifndef MATC_DIALECT_DERIVATIVEINTERFACE_H
#define MATC_DIALECT_DERIVATIVEINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "matc/Dialect/DerivativeInterface.h.inc"

#endif

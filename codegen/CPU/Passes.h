//===- Passes.h - the CPU back end's passes ---------------------*- C++ -*-===//
#ifndef MATC_CPU_PASSES_H
#define MATC_CPU_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace matc::cpu {
/// Marks the stack buffer of a packed kernel's panel (matc-vectorize-matmuls):
/// the loop around it has long iterations, each a panel over every row
/// (matc-cpu-schedule-loops gives such loops a guided schedule).
inline constexpr llvm::StringLiteral kPackedPanelAttr = "matc.packed_panel";

#define GEN_PASS_DECL
#include "CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "CPU/Passes.h.inc"
} // namespace matc::cpu

#endif

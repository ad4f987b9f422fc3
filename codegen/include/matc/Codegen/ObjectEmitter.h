//===- ObjectEmitter.h - LLVM dialect -> LLVM IR / object file --*- C++ -*-===//
#ifndef MATC_CODEGEN_OBJECTEMITTER_H
#define MATC_CODEGEN_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace matc {

/// The CPU code is generated for: the host's name and features, since a
/// compiled model runs where it was compiled (AVX-512 when present, else AVX2).
struct HostTarget {
  std::string triple, cpu, features;
  bool hasAvx512 = false, hasAvx2 = false;
};
HostTarget detectHostTarget();

/// Translates a module in the LLVM dialect, optimizes it at `optLevel`, and
/// returns LLVM IR text (`emitLlvm`) or a relocatable object (PIC).
mlir::LogicalResult emitHostCode(mlir::ModuleOp module, unsigned optLevel,
                                 bool emitLlvm, std::string &bytes,
                                 std::string &error);

} // namespace matc

#endif

//===- HostObject.h - LLVM dialect -> LLVM IR / object file -----*- C++ -*-===//
#ifndef MATC_CPU_HOSTOBJECT_H
#define MATC_CPU_HOSTOBJECT_H

#include "CPU/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/Timing.h"

#include <string>

namespace matc::cpu {

/// Translates a module in the LLVM dialect, optimizes it at `optLevel` for
/// `target`, and returns LLVM IR text (`emitLlvm`) or a relocatable object
/// (PIC, so it links into position-independent executables). With
/// `timing`, the translation, optimization and machine code are timed.
mlir::LogicalResult emitCpuCode(mlir::ModuleOp module, const CpuTarget &target,
                                unsigned optLevel, bool emitLlvm,
                                std::string &bytes, std::string &error,
                                mlir::TimingScope *timing = nullptr);

} // namespace matc::cpu

#endif

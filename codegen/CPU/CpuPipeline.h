//===- CpuPipeline.h - the CPU back end -------------------------*- C++ -*-===//
#ifndef MATC_CPU_CPUPIPELINE_H
#define MATC_CPU_CPUPIPELINE_H

#include "CPU/CpuTarget.h"

#include "mlir/Pass/PassManager.h"

namespace matc::cpu {

/// linalg on tensors (the shared middle's output) -> the LLVM dialect for
/// one CPU: the attention core as a tiled online softmax, bufferize (across function boundaries: layers are functions),
/// register-blocked matmul kernels shaped by `config`, the rest as loops
/// with parallel dimensions as OpenMP worksharing loops, then LLVM.
void buildCpuBackendPipeline(mlir::OpPassManager &pm,
                             const KernelConfig &config);

/// Registers the back end's passes and `matc-cpu-backend` (options
/// `lanes`, `rows`, `columns`, `attention-tile`, or `isa=avx2|avx512` for
/// their defaults).
void registerCpuBackend();

} // namespace matc::cpu

#endif

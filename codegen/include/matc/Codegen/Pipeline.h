//===- Pipeline.h - matc's pass pipelines -----------------------*- C++ -*-===//
#ifndef MATC_CODEGEN_PIPELINE_H
#define MATC_CODEGEN_PIPELINE_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace matc {

struct MatFormerPipelineOptions {
  /// MIX text; empty means the module's default mix.
  std::string mix;
  /// Keep widths dynamic instead of specializing.
  bool elastic = false;
};

/// matformer -> specialized matformer: apply the MIX, check nesting,
/// canonicalize. The first stage of every compile.
void buildMatFormerPipeline(mlir::OpPassManager &pm,
                            const MatFormerPipelineOptions &options);

/// Specialized (or, with `elastic`, universal) matformer -> the runtime's
/// entry point, still in matformer ops (`matformer-bind-runtime-abi`).
void buildBindRuntimePipeline(mlir::OpPassManager &pm, bool elastic);

/// The runtime entry point -> LLVM dialect for the host CPU: lower to
/// linalg on tensors, fuse elementwise ops, bufferize, loops, LLVM.
mlir::LogicalResult buildCpuLoweringPipeline(mlir::OpPassManager &pm);

} // namespace matc

#endif

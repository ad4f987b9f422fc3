//===- Pipeline.h - matc's compilation stages -------------------*- C++ -*-===//
//
// The compiler is four stages, each a pass pipeline of its own, registered
// under its name so `matc-opt` (and lit tests) can run any one of them on
// .mlir input:
//
//   matc-front    matformer IR from the importer -> one width per layer:
//                 specialize every function that carries a matformer.mix,
//                 verify nesting, canonicalize.
//   matc-bind-abi weights become arguments; @forward becomes the runtime's
//                 entry points (matc/abi/ModelAbi.h: forward and loss); with
//                 --train, the training losses are differentiated
//                 (matformer-reverse-mode) and the training entry points
//                 built; each distinct decoder layer becomes one function,
//                 called per layer.
//   matc-to-linalg  the target-independent middle: matformer -> linalg,
//                 tensor, arith and math on tensors (matmuls as linalg
//                 contractions), except the attention core, which stays one
//                 matformer.causal_attention so each back end can fuse it.
//                 Every back end and training start here.
//   a back end    CPU: matc-cpu-backend (codegen/CPU/CpuPipeline.h), which
//                 starts by lowering causal_attention (matc-cpu-lower-attention).
//                 NVIDIA GPU: matc-cuda-backend (codegen/CUDA/CudaPipeline.h),
//                 which starts with matc-cuda-lower-attention (one kernel).
//
// A new target adds its back end after matc-to-linalg, with a lowering of
// causal_attention; a new op adds its lowering to convert-matformer-to-linalg
// (passes/; the patterns are public: matc/Passes/MatFormerToLinalg.h).
//
//===----------------------------------------------------------------------===//
#ifndef MATC_CODEGEN_PIPELINE_H
#define MATC_CODEGEN_PIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace matc {

void buildFrontPipeline(mlir::OpPassManager &pm);
void buildBindAbiPipeline(mlir::OpPassManager &pm);
void buildLinalgPipeline(mlir::OpPassManager &pm);

/// matc's passes and the named pipelines above (and the back ends').
void registerMatcPassesAndPipelines();

} // namespace matc

#endif

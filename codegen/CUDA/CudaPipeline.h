//===- CudaPipeline.h - the NVIDIA GPU back end -----------------*- C++ -*-===//
//
// matc-cuda-backend: the output of matc-to-linalg (linalg on tensors, the
// attention core as one op) -> host code in the LLVM dialect that launches
// kernels, with the kernels serialized by gpu-module-to-binary into a
// gpu.binary (PTX text or a fatbin).
//
//===----------------------------------------------------------------------===//
#ifndef MATC_CUDA_CUDAPIPELINE_H
#define MATC_CUDA_CUDAPIPELINE_H

#include "CUDA/CudaTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace matc::cuda {

void buildCudaBackendPipeline(mlir::OpPassManager &pm,
                              const CudaTarget &target, BinaryFormat format);

/// For tests without a GPU: the same kernels (attention, mapped loop
/// nests), each gpu.launch run as serial loops on the host
/// (matc-cuda-emulate-launches), lowered like CPU code without OpenMP. The
/// numbers are the kernels'; the device memory, NVVM and launch steps are
/// not exercised.
void buildCudaEmulationPipeline(mlir::OpPassManager &pm,
                                CudaTarget target);

/// Registers the passes and the matc-cuda-backend pipeline.
void registerCudaBackend();

/// The LLVM IR translations that a module holding gpu.binary and
/// gpu.launch_func needs (the kernel's own NVVM ones for serialization).
void registerCudaTranslations(mlir::DialectRegistry &registry);

/// The PTX text of the module's kernels, after the back end ran with
/// BinaryFormat::Ptx; fails with `error` set otherwise.
mlir::LogicalResult kernelPtx(mlir::ModuleOp module, std::string &ptx,
                              std::string &error);

/// The CUDA toolkit's prefix (holding bin/ptxas and nvvm/libdevice), from
/// $CUDA_HOME, $CUDA_PATH, $CUDA_ROOT, ptxas on PATH, or /usr/local/cuda;
/// empty when there is none. Every CUDA output needs it: libdevice for the
/// kernels' math, ptxas and fatbinary for objects.
std::string findCudaToolkit();

} // namespace matc::cuda

#endif

//===- CudaTarget.h - what the GPU back end compiles for --------*- C++ -*-===//
#ifndef MATC_CUDA_CUDATARGET_H
#define MATC_CUDA_CUDATARGET_H

#include <optional>
#include <string>

namespace matc::cuda {

/// An NVIDIA GPU architecture the back end supports, as --cuda-arch names
/// it, and the NVVM target it becomes.
struct CudaTarget {
  std::string arch;     // "sm_80", "sm_90"
  std::string chip;     // the NVVM chip: sm_80, sm_90a (wgmma needs "a")
  std::string features; // PTX ISA version: +ptx80
  /// Threads per block of a mapped loop nest, by nest depth: rows x columns
  /// for two or more parallel dimensions, rows * columns for one.
  int64_t blockRows = 4, blockColumns = 64;
  /// The CUDA toolkit (findCudaToolkit in CudaPipeline.h).
  std::string toolkitPath;
  /// Projections on bf16 tensor cores (matc-cuda-tensor-core-matmuls;
  /// --cuda-tensor-cores): activations rounded to bf16, so opt-in.
  bool tensorCores = false;
  /// Query rows per block of the attention kernel.
  int64_t attentionQueryTile = 64;

  /// sm_80 or sm_90; anything else is nullopt with `error` saying what is
  /// supported.
  static std::optional<CudaTarget> named(const std::string &arch,
                                         std::string &error);
};

/// What gpu-module-to-binary produces.
enum class BinaryFormat {
  Ptx,     // PTX text (--emit ptx)
  Fatbin,  // cubin for the chip plus its PTX, for newer chips (needs ptxas)
};

} // namespace matc::cuda

#endif

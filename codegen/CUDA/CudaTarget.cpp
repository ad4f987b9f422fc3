//===- CudaTarget.cpp - --cuda-arch -> NVVM target -------------------------===//
#include "CUDA/CudaTarget.h"

std::optional<matc::cuda::CudaTarget>
matc::cuda::CudaTarget::named(const std::string &arch, std::string &error) {
  CudaTarget target;
  target.arch = arch;
  // PTX ISA 8.0 (CUDA 12.0) for both: the default ISA of NVPTX is too old
  // for sm_80 and aborts for sm_90a (docs: MLIR22-NOTES "Tensor cores").
  target.features = "+ptx80";
  if (arch == "sm_80") {
    target.chip = "sm_80";
    return target;
  }
  if (arch == "sm_90") {
    // The "a" variant: wgmma and its fences are refused on plain sm_90.
    target.chip = "sm_90a";
    return target;
  }
  error = "unsupported GPU architecture '" + arch +
          "' (expected sm_80 or sm_90)";
  return std::nullopt;
}

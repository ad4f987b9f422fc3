//===- CudaAbi.h - generated CUDA host code <-> matrt's CUDA backend -*- C++ -*-===//
//
// A model compiled with --target cuda keeps the entry point of ModelAbi.h
// (same arguments, host pointers), and its entry maps each buffer to device
// memory through the functions below, which matrt's CUDA backend
// (runtime/lib/cuda/) defines. The kernels launch through the mgpu*
// functions MLIR's gpu-to-llvm emits, also defined there.
//
// Placement (docs/ARCHITECTURE.md, "The GPU back end"):
//   weights       uploaded on first use, keyed by host pointer and size,
//                 then reused by every call (the runtime's weights are
//                 immutable while a model runs)
//   k_cache,      device-resident, keyed by host pointer and size: allocated
//   v_cache       and zeroed on first use, never copied (the host buffers
//                 stay unused)
//   tokens        copied in per call (num_tokens entries)
//   logits        copied out per call (num_logits rows)
//   layer_widths  stays on the host: host code reads it to pick widths
//
//===----------------------------------------------------------------------===//
#ifndef MATC_ABI_CUDAABI_H
#define MATC_ABI_CUDAABI_H

#include <cstdint>

namespace matc::abi::cuda {

/// void matrt_cuda_begin_forward(void): first in the entry. Makes sure a
/// driver and a device are there (otherwise prints why and exits 1) and
/// serializes forward calls.
inline constexpr const char *kBeginForward = "matrt_cuda_begin_forward";
/// void matrt_cuda_end_forward(void): last in the entry.
inline constexpr const char *kEndForward = "matrt_cuda_end_forward";
/// void *matrt_cuda_weight(const void *host, int64_t bytes)
inline constexpr const char *kWeight = "matrt_cuda_weight";
/// void *matrt_cuda_resident(const void *host, int64_t bytes)
inline constexpr const char *kResident = "matrt_cuda_resident";
/// void *matrt_cuda_copy_in(int64_t slot, const void *host, int64_t capacity,
///                          int64_t bytes): a device buffer of `capacity`
/// bytes for input `slot`, its first `bytes` copied from `host`.
inline constexpr const char *kCopyIn = "matrt_cuda_copy_in";
/// void *matrt_cuda_output(int64_t slot, int64_t capacity): a device buffer
/// of `capacity` bytes for output `slot`.
inline constexpr const char *kOutput = "matrt_cuda_output";
/// void matrt_cuda_copy_out(int64_t slot, void *host, int64_t bytes): the
/// first `bytes` of output `slot` to `host`, after the kernels finished.
inline constexpr const char *kCopyOut = "matrt_cuda_copy_out";

/// Slots of the per-call buffers.
enum Slot : int64_t { kTokensSlot = 0, kLogitsSlot = 1 };

} // namespace matc::abi::cuda

#endif // MATC_ABI_CUDAABI_H

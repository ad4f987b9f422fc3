//===- CpuTarget.h - the CPU code is generated for --------------*- C++ -*-===//
//
// Which x86-64 the code runs on, and the kernel shapes chosen from it. The
// strategy is decided here, once, from the target's features (as IREE's
// KernelDispatch does); the passes only obey the KernelConfig they are given.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_CPU_CPUTARGET_H
#define MATC_CPU_CPUTARGET_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace matc::cpu {

struct CpuTarget {
  /// LLVM's names: target triple, CPU (-mcpu) and feature string.
  std::string triple, cpu, features;
  bool hasAvx512 = false, hasAvx2 = false, hasFma = false;

  /// "AVX-512", "AVX2" or "SSE".
  llvm::StringRef isaName() const;
  /// f32 lanes in one vector register of the widest ISA the kernels use.
  int64_t f32Lanes() const;
  /// Architectural vector registers (zmm0-31 with AVX-512, else 16).
  int64_t vectorRegisters() const;

  /// The machine the compiler runs on: a compiled model runs where it was
  /// compiled unless another CPU is asked for.
  static CpuTarget host();
  /// A CPU by LLVM's name (znver3, znver4, x86-64-v3, x86-64-v4, ...), to
  /// compile for another machine; nullopt, with `error`, for an unknown name.
  static std::optional<CpuTarget> named(llvm::StringRef cpu,
                                        std::string &error);
};

/// What the CPU back end's passes are told.
struct KernelConfig {
  /// f32 lanes per vector.
  int64_t vectorLanes = 16;
  /// The matmul register block: rows x columns accumulators plus one vector
  /// per row and per column must fit in the register file.
  int64_t matmulRows = 4, matmulColumns = 4;
  /// The packed matmul kernel for projections with many rows (prefill):
  /// packedRows x packedVectors accumulators, weight blocks of packedDepth
  /// values of k (0 rows: the dot kernel everywhere).
  int64_t packedRows = 6, packedVectors = 4, packedDepth = 256;
  /// Key positions per tile of attention's online softmax. Every tile costs
  /// a fork of the OpenMP team per op today, so small tiles slowed decode
  /// (270M spec, S, 512 positions: 24.5-26.7 tok/s at 128 against 28-33 at
  /// one tile, on a Zen 3); contexts up to 1024 positions run as one tile,
  /// longer ones in bounded tiles. `matc compile --attention-tile` overrides.
  int64_t attentionPositionTile = 1024;
  /// Query rows per block of attention: each block attends only up to its
  /// last row's position, so a prompt skips most of the causally masked
  /// scores (a block of 64 of 512 rows: 56% of the score matrix computed).
  int64_t attentionQueryBlock = 64;
  /// Query rows x group from which a block of attention runs in the column
  /// form (outer products on the packed kernel; 0: never). The packed
  /// kernel's panel width: fewer columns would fill no panel.
  int64_t attentionColumnForm = 0;
};

KernelConfig chooseKernelConfig(const CpuTarget &target);

} // namespace matc::cpu

#endif

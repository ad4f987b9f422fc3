//===- CpuTarget.cpp - target features -> kernel shapes -------------------===//
#include "CPU/CpuTarget.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>

using namespace matc::cpu;

llvm::StringRef CpuTarget::isaName() const {
  return hasAvx512 ? "AVX-512" : hasAvx2 ? "AVX2" : "SSE";
}

int64_t CpuTarget::f32Lanes() const { return hasAvx512 ? 16 : hasAvx2 ? 8 : 4; }

int64_t CpuTarget::vectorRegisters() const { return hasAvx512 ? 32 : 16; }

CpuTarget CpuTarget::host() {
  CpuTarget target;
  target.triple = llvm::sys::getDefaultTargetTriple();
  target.cpu = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::string list;
  for (const auto &feature : features) {
    if (!list.empty())
      list += ",";
    list += (feature.getValue() ? "+" : "-") + feature.getKey().str();
  }
  target.features = list;
  target.hasAvx512 = features.lookup("avx512f");
  target.hasAvx2 = features.lookup("avx2");
  target.hasFma = features.lookup("fma");
  return target;
}

std::optional<CpuTarget> CpuTarget::named(llvm::StringRef cpu,
                                          std::string &error) {
  llvm::InitializeNativeTarget();
  CpuTarget target;
  target.triple = llvm::sys::getDefaultTargetTriple();
  target.cpu = cpu.str();
  llvm::Triple triple(target.triple);
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return std::nullopt;
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      llvmTarget->createMCSubtargetInfo(triple, cpu, ""));
  if (!info || !info->isCPUStringValid(cpu)) {
    error = "unknown CPU '" + cpu.str() +
            "' (LLVM's -mcpu names, e.g. znver3, znver4, x86-64-v3, x86-64-v4)";
    return std::nullopt;
  }
  target.hasAvx512 = info->checkFeatures("+avx512f");
  target.hasAvx2 = info->checkFeatures("+avx2");
  target.hasFma = info->checkFeatures("+fma");
  return target;
}

KernelConfig matc::cpu::chooseKernelConfig(const CpuTarget &target) {
  KernelConfig config;
  config.vectorLanes = target.f32Lanes();
  // rows * columns accumulators + rows + columns operands <= registers:
  // 4 x 4 uses 24 of AVX-512's 32; with 16 registers 3 x 3 uses 15.
  // The packed kernel: rows x vectors accumulators + vectors panel loads +
  // one broadcast. 6 x 2 of 8 lanes (15 of 16 ymm) is the tile that reached
  // 85% of a 2-core Zen 3's FMA peak (docs/ARCHITECTURE.md); 6 x 4 of 16
  // lanes uses 29 of 32 zmm, with panels of 64 columns that divide
  // every width here.
  if (target.vectorRegisters() >= 32) {
    config.matmulRows = 4;
    config.matmulColumns = 4;
    config.packedRows = 6;
    config.packedVectors = 4;
  } else {
    config.matmulRows = 3;
    config.matmulColumns = 3;
    config.packedRows = 6;
    config.packedVectors = 2;
  }
  // Values of k per packed panel: the panel fills 64 KiB (L2, not L1: the
  // kernel reads one or two of its vectors per packedRows FMAs), so C's
  // tile is reloaded every 1024 values of k with AVX2 instead of every 256.
  // Its rows are far apart and alias in L1; on a 2-core Zen 3 the 270M XL
  // prefill went from 180-192 to 200-202 tok/s (depth 256 -> 1024, same
  // session, interleaved runs).
  config.packedDepth =
      (64 * 1024 / 4) / (config.packedVectors * config.vectorLanes);
  config.attentionColumnForm = config.packedVectors * config.vectorLanes;
  return config;
}

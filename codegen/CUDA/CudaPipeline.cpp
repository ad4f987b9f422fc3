//===- CudaPipeline.cpp - linalg on tensors -> GPU kernels + host code -----===//
#include "CUDA/CudaPipeline.h"
#include "CUDA/Passes.h"
#include "CPU/Passes.h"
#include "matc/Passes/BackendCommon.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdlib>
#include "llvm/Support/Program.h"

using namespace mlir;

namespace {

/// Every linalg op becomes a parallel loop nest (reductions stay loops
/// inside), tiled so that the outer loops become blocks and the tile's
/// loops threads (rows x columns threads for two or more parallel
/// dimensions). Copies are linalg first, so they map the same way.
void addLoopMapping(OpPassManager &pm, const matc::cuda::CudaTarget &target) {
  pm.addPass(matc::cpu::createMemRefCopyToLinalg());
  if (target.tensorCores)
    pm.addPass(matc::cuda::createTensorCoreMatmuls());
  matc::addUpstreamPasses(pm, "convert-linalg-to-parallel-loops,canonicalize,"
                  "scf-parallel-loop-tiling{parallel-loop-tile-sizes=" +
                      std::to_string(target.blockRows) + "," +
                      std::to_string(target.blockColumns) +
                      " no-min-max-bounds=true},"
                      "func.func(gpu-map-parallel-loops),"
                      "convert-parallel-loops-to-gpu,canonicalize");
}

/// Kernels out of line into one gpu.module for the chip; device code to
/// NVVM, host code to the LLVM dialect (launches become mgpu* calls, which
/// matrt's CUDA backend provides); the kernels serialized.
void addKernelsAndHost(OpPassManager &pm, const matc::cuda::CudaTarget &target,
                       matc::cuda::BinaryFormat format) {
  pm.addPass(matc::cuda::createDeviceMemory());
  // Constants and index math into the kernels, so they are immediates there
  // instead of kernel parameters (and registers).
  matc::addUpstreamPasses(pm, "gpu-launch-sink-index-computations,gpu-kernel-outlining");
  pm.addPass(matc::cuda::createMergeKernelModules());
  // The toolkit's libdevice provides the math functions (expf, rsqrtf, the
  // f64 sin/cos of RoPE); its ptxas and fatbinary make the fatbin.
  matc::addUpstreamPasses(pm, "nvvm-attach-target{chip=" + target.chip +
                      " features=" + target.features + " O=3},"
                      "expand-strided-metadata,lower-affine,canonicalize,cse,"
                      "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
                      "reconcile-unrealized-casts),"
                      "convert-scf-to-cf,gpu-to-llvm,finalize-memref-to-llvm,"
                      "convert-math-to-llvm,convert-arith-to-llvm,"
                      "convert-index-to-llvm,convert-cf-to-llvm,"
                      "convert-func-to-llvm,reconcile-unrealized-casts,"
                      "gpu-module-to-binary{toolkit=" + target.toolkitPath +
                      " format=" +
                      std::string(format == matc::cuda::BinaryFormat::Ptx
                                      ? "isa"
                                      : "fatbin") +
                      "}");
}

/// Stands for a pipeline that cannot be built: fails with `message` when
/// run, so a bad option of a textual pipeline is a diagnostic, not a crash.
struct ReportErrorPass
    : PassWrapper<ReportErrorPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ReportErrorPass)
  explicit ReportErrorPass(std::string message) : message(std::move(message)) {}
  llvm::StringRef getArgument() const override { return "matc-report-error"; }
  void runOnOperation() override {
    getOperation().emitError(message);
    signalPassFailure();
  }
  std::string message;
};

struct CudaBackendOptions : PassPipelineOptions<CudaBackendOptions> {
  Option<std::string> arch{*this, "arch",
                           llvm::cl::desc("GPU architecture: sm_80 or sm_90"),
                           llvm::cl::init("sm_90")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Kernel binary: ptx (text) or fatbin (needs ptxas)"),
      llvm::cl::init("ptx")};
  Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Projections on bf16 tensor cores (mma.sync)"),
      llvm::cl::init(false)};
};

} // namespace

void matc::cuda::buildCudaBackendPipeline(OpPassManager &pm,
                                          const CudaTarget &target,
                                          BinaryFormat format) {
  LowerAttentionOptions attention;
  attention.queryTile = target.attentionQueryTile;
  pm.addPass(createLowerAttention(attention));
  matc::addBufferization(pm);
  addLoopMapping(pm, target);
  addKernelsAndHost(pm, target, format);
}

void matc::cuda::buildCudaEmulationPipeline(OpPassManager &pm,
                                            CudaTarget target) {
  // mma.sync has no serial form.
  target.tensorCores = false;
  LowerAttentionOptions attention;
  attention.queryTile = target.attentionQueryTile;
  pm.addPass(createLowerAttention(attention));
  matc::addBufferization(pm);
  addLoopMapping(pm, target);
  pm.addPass(createEmulateLaunches());
  matc::addUpstreamPasses(pm, "canonicalize,convert-scf-to-cf,expand-strided-metadata,"
                  "lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,"
                  "convert-math-to-libm,convert-arith-to-llvm,"
                  "convert-index-to-llvm,convert-cf-to-llvm,"
                  "convert-func-to-llvm,reconcile-unrealized-casts");
}

void matc::cuda::registerCudaBackend() {
  registerMatcCUDAPasses();
  PassPipelineRegistration<CudaBackendOptions>(
      "matc-cuda-backend",
      "The NVIDIA GPU back end: fused attention kernel, bufferize, loops "
      "mapped to blocks and threads, NVVM, serialized kernels, host code "
      "that launches them",
      [](OpPassManager &pm, const CudaBackendOptions &options) {
        std::string error;
        std::optional<CudaTarget> target = CudaTarget::named(options.arch, error);
        if (!target) {
          pm.addPass(std::make_unique<ReportErrorPass>(
              "matc-cuda-backend: arch: " + error));
          return;
        }
        target->toolkitPath = findCudaToolkit();
        target->tensorCores = options.tensorCores;
        buildCudaBackendPipeline(pm, *target,
                                 options.format == "fatbin"
                                     ? BinaryFormat::Fatbin
                                     : BinaryFormat::Ptx);
      });
}

void matc::cuda::registerCudaTranslations(DialectRegistry &registry) {
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  // #gpu.select_object: embeds the binary and loads it in a constructor.
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  registerNVVMDialectTranslation(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

LogicalResult matc::cuda::kernelPtx(ModuleOp module, std::string &ptx,
                                    std::string &error) {
  for (auto binary : module.getOps<gpu::BinaryOp>()) {
    for (Attribute attribute : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(attribute);
      if (!object || object.getFormat() != gpu::CompilationTarget::Assembly)
        continue;
      ptx += object.getObject().getValue().str();
    }
  }
  if (ptx.empty()) {
    error = "the GPU back end produced no PTX";
    return failure();
  }
  return success();
}

std::string matc::cuda::findCudaToolkit() {
  auto holdsPtxas = [](llvm::StringRef prefix) {
    llvm::SmallString<256> ptxas(prefix);
    llvm::sys::path::append(ptxas, "bin", "ptxas");
    return !prefix.empty() && llvm::sys::fs::can_execute(ptxas);
  };
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *prefix = std::getenv(variable); prefix && holdsPtxas(prefix))
      return prefix;
  if (llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas")) {
    llvm::SmallString<256> prefix(*ptxas);
    llvm::sys::path::remove_filename(prefix); // bin/
    llvm::sys::path::remove_filename(prefix);
    if (holdsPtxas(prefix))
      return std::string(prefix);
  }
  if (holdsPtxas("/usr/local/cuda"))
    return "/usr/local/cuda";
  return "";
}

//===- CpuPipeline.cpp - linalg on tensors -> LLVM dialect for a CPU ------===//
#include "CPU/CpuPipeline.h"
#include "CPU/Passes.h"
#include "matc/Passes/BackendCommon.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

namespace {

/// The kernels, shaped by the target (matmuls, transposes that move the
/// innermost dimension); transcendental functions as polynomials that
/// vectorize.
void addKernels(OpPassManager &pm, const matc::cpu::KernelConfig &config) {
  pm.addPass(matc::cpu::createMemRefCopyToLinalg());
  matc::cpu::VectorizeMatmulsOptions matmuls;
  matmuls.lanes = config.vectorLanes;
  matmuls.rows = config.matmulRows;
  matmuls.columns = config.matmulColumns;
  matmuls.packedRows = config.packedRows;
  matmuls.packedVectors = config.packedVectors;
  matmuls.packedDepth = config.packedDepth;
  pm.addPass(matc::cpu::createVectorizeMatmuls(matmuls));
  matc::cpu::VectorizeTransposesOptions transposes;
  transposes.lanes = config.vectorLanes;
  pm.addPass(matc::cpu::createVectorizeTransposes(transposes));
  pm.addPass(matc::cpu::createApproximateMath());
}

/// Everything else becomes loops; parallel dimensions but the innermost
/// become OpenMP worksharing loops over the cores (the packed kernels' with
/// a dynamic schedule), one team per stretch of loops, barriers only where a
/// loop needs one, each thread's iterations computed by the generated code
/// rather than asked of libomp; reduction loops carry their accumulator.
/// Without the
/// canonicalization, scf-to-cf leaves a multi-block memref.alloca_scope
/// behind.
void addParallelLoops(OpPassManager &pm) {
  matc::addUpstreamPasses(pm, "convert-linalg-to-parallel-loops");
  pm.addPass(matc::cpu::createSequentialInnerLoops());
  pm.addPass(matc::cpu::createPromoteAccumulators());
  matc::addUpstreamPasses(pm, "convert-scf-to-openmp,"
                              "canonicalize");
  pm.addPass(matc::cpu::createScheduleLoops());
  pm.addPass(matc::cpu::createMergeParallelRegions());
  pm.addPass(matc::cpu::createShareIterations());
}

void addLowerToLlvm(OpPassManager &pm) {
  // finalize-memref-to-llvm before scf-to-cf: the OpenMP lowering wraps a
  // parallel body that allocates (the packed kernel's buffer) in a
  // memref.alloca_scope, which must become stacksave/stackrestore while its
  // body is still one block.
  matc::addUpstreamPasses(
      pm, "expand-strided-metadata,"
          "lower-affine,"
          "finalize-memref-to-llvm,"
          "convert-scf-to-cf,"
          "convert-vector-to-llvm,"
          "convert-math-to-llvm,"
          "convert-math-to-libm,"
          "convert-arith-to-llvm,"
          "convert-index-to-llvm,"
          "convert-cf-to-llvm,"
          "convert-func-to-llvm,"
          // After func-to-llvm, whose patterns would otherwise claim
          // the function signatures inside OpenMP regions.
          "convert-openmp-to-llvm,"
          "reconcile-unrealized-casts");
}

struct CpuBackendOptions : PassPipelineOptions<CpuBackendOptions> {
  Option<std::string> isa{*this, "isa",
                          llvm::cl::desc("Kernel defaults for an ISA: avx512 "
                                         "or avx2 (default: the host's)"),
                          llvm::cl::init("")};
  Option<int64_t> lanes{*this, "lanes", llvm::cl::desc("f32 vector lanes"),
                        llvm::cl::init(0)};
  Option<int64_t> rows{*this, "rows",
                       llvm::cl::desc("Matmul register block rows"),
                       llvm::cl::init(0)};
  Option<int64_t> columns{*this, "columns",
                          llvm::cl::desc("Matmul register block columns"),
                          llvm::cl::init(0)};
  Option<int64_t> packedRows{
      *this, "packed-rows",
      llvm::cl::desc("Packed matmul kernel rows (-1: no packed kernel)"),
      llvm::cl::init(0)};
  Option<int64_t> packedVectors{
      *this, "packed-vectors",
      llvm::cl::desc("Packed matmul kernel vectors of columns"),
      llvm::cl::init(0)};
  Option<int64_t> packedDepth{
      *this, "packed-depth",
      llvm::cl::desc("Values of k per packed weight block"), llvm::cl::init(0)};
  Option<int64_t> attentionTile{
      *this, "attention-tile",
      llvm::cl::desc("Key positions per tile of attention's online softmax"),
      llvm::cl::init(0)};
};

} // namespace

void matc::cpu::buildCpuBackendPipeline(OpPassManager &pm,
                                        const KernelConfig &config) {
  // The middle keeps the attention core as one op; this is the CPU's form.
  LowerAttentionOptions attention;
  attention.positionTile = config.attentionPositionTile;
  attention.queryBlock = config.attentionQueryBlock;
  attention.columnForm =
      config.packedRows > 0 ? config.attentionColumnForm : 0;
  pm.addPass(createLowerAttention(attention));
  // The FFN's gate and up projections per strip of one packed panel's
  // width, with their epilogue (the strips become the parallel loop).
  if (config.packedRows > 0) {
    FuseFfnEpilogueOptions ffn;
    ffn.columns = config.packedVectors * config.vectorLanes;
    pm.addPass(createFuseFfnEpilogue(ffn));
  }
  matc::addBufferization(pm);
  matc::addUpstreamPasses(pm, "scf-forall-to-parallel");
  addKernels(pm, config);
  addParallelLoops(pm);
  addLowerToLlvm(pm);
}

void matc::cpu::registerCpuBackend() {
  registerMatcCPUPasses();
  PassPipelineRegistration<CpuBackendOptions>(
      "matc-cpu-backend",
      "The CPU back end: bufferize, target-shaped kernels, OpenMP loops, "
      "LLVM dialect",
      [](OpPassManager &pm, const CpuBackendOptions &options) {
        CpuTarget target = CpuTarget::host();
        if (options.isa == "avx512")
          target.hasAvx512 = target.hasAvx2 = true;
        else if (options.isa == "avx2")
          target.hasAvx512 = false, target.hasAvx2 = true;
        KernelConfig config = chooseKernelConfig(target);
        if (options.lanes > 0)
          config.vectorLanes = options.lanes;
        if (options.rows > 0)
          config.matmulRows = options.rows;
        if (options.columns > 0)
          config.matmulColumns = options.columns;
        if (options.packedRows > 0)
          config.packedRows = options.packedRows;
        else if (options.packedRows < 0)
          config.packedRows = 0;
        if (options.packedVectors > 0)
          config.packedVectors = options.packedVectors;
        if (options.packedDepth > 0)
          config.packedDepth = options.packedDepth;
        if (options.attentionTile > 0)
          config.attentionPositionTile = options.attentionTile;
        buildCpuBackendPipeline(pm, config);
      });
}

//===- Pipeline.cpp - matc's pass pipelines, in one place ------------------===//
#include "matc/Codegen/Pipeline.h"
#include "matc/Passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void matc::buildMatFormerPipeline(OpPassManager &pm,
                                  const MatFormerPipelineOptions &options) {
  if (!options.elastic) {
    SpecializeMixOptions specialize;
    specialize.mix = options.mix;
    pm.addPass(createSpecializeMix(specialize));
  }
  pm.addPass(createVerifyNesting());
  pm.addPass(createCanonicalizerPass());
}

void matc::buildBindRuntimePipeline(OpPassManager &pm, bool elastic) {
  BindRuntimeAbiOptions options;
  options.elastic = elastic;
  pm.addPass(createBindRuntimeAbi(options));
}

/// Upstream passes by their mlir-opt names, so the pipeline reads the same
/// here, in lit tests and on the command line.
static constexpr const char *kCpuLowering =
    "convert-matformer-to-linalg,"
    "canonicalize,cse,"
    "convert-elementwise-to-linalg,"
    "eliminate-empty-tensors,"
    "one-shot-bufferize,"
    "canonicalize,"
    "buffer-deallocation-pipeline,"
    "matc-memref-copy-to-linalg,"
    "matc-vectorize-matmuls,"
    // Parallel dimensions become OpenMP worksharing loops over both cores.
    "convert-linalg-to-parallel-loops,"
    "convert-scf-to-openmp,"
    "canonicalize,"
    "convert-scf-to-cf,"
    "expand-strided-metadata,"
    "lower-affine,"
    "convert-vector-to-llvm,"
    "finalize-memref-to-llvm,"
    "convert-math-to-llvm,"
    "convert-math-to-libm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-cf-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
    // After func-to-llvm: its own patterns would give memref arguments
    // descriptors instead of bare pointers.
    "convert-openmp-to-llvm,"
    "reconcile-unrealized-casts";

LogicalResult matc::buildCpuLoweringPipeline(OpPassManager &pm) {
  return parsePassPipeline(kCpuLowering, pm);
}

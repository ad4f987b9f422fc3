//===- Pipeline.cpp - matc's compilation stages ----------------------------===//
#include "matc/Codegen/Pipeline.h"
#include "matc/Passes/Passes.h"
#include "CPU/CpuPipeline.h"
#include "CUDA/CudaPipeline.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void matc::buildFrontPipeline(OpPassManager &pm) {
  pm.addPass(createSpecializeMix());
  pm.addPass(createVerifyNesting());
  pm.addPass(createCanonicalizerPass());
}

void matc::buildBindAbiPipeline(OpPassManager &pm) {
  pm.addPass(createWeightsToArguments());
  pm.addPass(createBindRuntimeAbi());
  // Training builds only (functions marked by matformer-add-training-losses);
  // both do nothing otherwise. Before outlining: reverse mode sees layers.
  pm.addPass(createReverseMode());
  pm.addPass(createBindTrainingAbi());
  pm.addPass(createOutlineLayers());
}

void matc::buildLinalgPipeline(OpPassManager &pm) {
  pm.addPass(createConvertMatFormerToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(parsePassPipeline("convert-elementwise-to-linalg", pm)))
    llvm::report_fatal_error("matc: convert-elementwise-to-linalg is missing");
  pm.addPass(createAccumulateIntoContractions());
  // Training builds only (a layer's forward and backward called in pairs):
  // the backward's recomputation moves into the forward, where CSE merges
  // it with what the forward already computes (canonicalized first, so
  // shapes are spelled alike).
  pm.addPass(createKeepLayerActivations());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void matc::registerMatcPassesAndPipelines() {
  registerMatFormerPasses();
  PassPipelineRegistration<>(
      "matc-front",
      "Specialize each function's mix, verify nesting, canonicalize",
      buildFrontPipeline);
  PassPipelineRegistration<>(
      "matc-bind-abi",
      "Weights to arguments, the runtime entry points (forward, loss; with "
      "training losses their gradients and the training entries), one "
      "function per distinct layer",
      buildBindAbiPipeline);
  PassPipelineRegistration<>(
      "matc-to-linalg",
      "The target-independent middle: matformer -> linalg on tensors",
      buildLinalgPipeline);
  cpu::registerCpuBackend();
  cuda::registerCudaBackend();
}

//===- Pipeline.cpp - matc's pass pipelines, in one place ------------------===//
#include "matc/Codegen/Pipeline.h"
#include "matc/Passes/Passes.h"

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

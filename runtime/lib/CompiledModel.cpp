// The only file that names the symbols of the generated model object. Keeping
// them here lets every other part of matrt link into unit tests, which
// supply a toy model instead.

#include "matrt/CommandLine.h"
#include "matrt/ModelAbi.h"

#include <type_traits>

// Exported only by some binaries (matc/abi/ModelAbi.h, Training): weak, so a
// binary without them links and sees null.
extern "C" {
__attribute__((weak)) std::remove_pointer_t<matc::abi::LossFn> matc_model_loss;
__attribute__((weak)) std::remove_pointer_t<matc::abi::TrainStepFn>
    matc_model_train_step;
__attribute__((weak)) std::remove_pointer_t<matc::abi::GradSquaredNormFn>
    matc_model_grad_squared_norm;
__attribute__((weak)) std::remove_pointer_t<matc::abi::AdamWStepFn>
    matc_model_adamw_step;
}

namespace matrt {

int runCompiledModel(int argc, char **argv) {
  CompiledModel model;
  model.manifestText = matc_model_manifest;
  model.forward = matc_model_forward;
  model.loss = matc_model_loss;
  model.trainStep = matc_model_train_step;
  model.gradSquaredNorm = matc_model_grad_squared_norm;
  model.adamwStep = matc_model_adamw_step;
  return runCommandLine(argc, argv, model);
}

} // namespace matrt

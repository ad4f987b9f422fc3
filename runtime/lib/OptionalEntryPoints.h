#ifndef MATRT_LIB_OPTIONALENTRYPOINTS_H
#define MATRT_LIB_OPTIONALENTRYPOINTS_H

// The entry points only some generated objects export (matc/abi/ModelAbi.h,
// Training): the loss and the three training functions. Declared weak, so a
// program or library without them links and sees null. Included only where
// a model is linked in: CompiledModel.cpp (programs) and CApi.cpp (--emit lib
// libraries).

#include "matrt/ModelAbi.h"

#include <type_traits>

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

// Sets `model`'s optional entry points to those of the model linked into
// this binary (null where it does not export them).
inline void linkOptionalEntryPoints(CompiledModel &model) {
  model.loss = matc_model_loss;
  model.trainStep = matc_model_train_step;
  model.gradSquaredNorm = matc_model_grad_squared_norm;
  model.adamwStep = matc_model_adamw_step;
}

} // namespace matrt

#endif // MATRT_LIB_OPTIONALENTRYPOINTS_H

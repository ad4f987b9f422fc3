#ifndef MATRT_MODELABI_H
#define MATRT_MODELABI_H

// The symbols of the code matc generates for one model, as this runtime sees
// them. The contract itself (version, argument order and meaning, buffer
// names) is matc/abi/ModelAbi.h, shared with the compiler; this header only
// declares the symbols every generated object exports, typed from it (the
// optional ones, the loss and the training entry points, are declared weak
// in lib/OptionalEntryPoints.h, used by lib/CompiledModel.cpp and
// lib/CApi.cpp).
// Everything else (weights, KV cache, sampling, the command line) is the
// runtime's job.

#include "matc/abi/ModelAbi.h"

#include <type_traits>

namespace matrt {

// The function type of matc_model_forward (matc::abi::kForwardArgs).
using ForwardSignature = std::remove_pointer_t<matc::abi::ForwardFn>;

} // namespace matrt

extern "C" {

// NUL-terminated JSON describing the compiled model (see Manifest.h);
// matc::abi::kManifestSymbol.
extern const char matc_model_manifest[];

// matc::abi::kForwardSymbol:
//   void matc_model_forward(int64_t num_tokens, int64_t start_pos,
//                           int64_t num_logits, const int32_t *tokens,
//                           float *logits, float *k_cache, float *v_cache,
//                           const int64_t *layer_widths,
//                           void *const *weights);
// See matc/abi/ModelAbi.h for what each argument means and what the runtime
// guarantees before calling.
matrt::ForwardSignature matc_model_forward;
}

namespace matrt {

// A model as the runtime sees it. The executable passes the generated
// symbols; unit tests pass a manifest string and plain-loop toy functions,
// which is why nothing outside CompiledModel.cpp names the extern symbols.
// A null function is one this binary does not export: the loss before ABI 4
// (eval then scores the logits itself), the training entry points without
// `matc compile --train`.
struct CompiledModel {
  const char *manifestText = nullptr;
  matc::abi::ForwardFn forward = nullptr;
  matc::abi::LossFn loss = nullptr;
  matc::abi::TrainStepFn trainStep = nullptr;
  matc::abi::GradSquaredNormFn gradSquaredNorm = nullptr;
  matc::abi::AdamWStepFn adamwStep = nullptr;

  // All three training entry points are there (the manifest says "train").
  bool canTrain() const { return trainStep && gradSquaredNorm && adamwStep; }
};

// Runs the command line against the model linked into this executable.
// Defined in CompiledModel.cpp, the only file that references the ABI symbols.
int runCompiledModel(int argc, char **argv);

} // namespace matrt

#endif // MATRT_MODELABI_H

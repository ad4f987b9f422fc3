//===- DeviceEntry.h - the CUDA entry's buffer placement --------*- C++ -*-===//
#ifndef MATC_CUDA_DEVICEENTRY_H
#define MATC_CUDA_DEVICEENTRY_H

#include "matc/Codegen/RuntimeAbi.h"

#include <memory>

namespace matc::cuda {

/// The placement of matc/abi/CudaAbi.h: weights uploaded once, caches
/// resident on the device, tokens in and logits out per call, layer_widths
/// left on the host. `module` receives the runtime functions' declarations.
std::unique_ptr<BufferPlacement> createDevicePlacement(mlir::ModuleOp module,
                                                       const ModelAbi &abi);

} // namespace matc::cuda

#endif

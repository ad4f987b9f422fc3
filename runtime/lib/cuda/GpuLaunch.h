#ifndef MATRT_CUDA_GPULAUNCH_H
#define MATRT_CUDA_GPULAUNCH_H

#include <string>

namespace matrt::cuda {
// Why the model's kernel module did not load, or empty.
const std::string &kernelLoadFailure();
} // namespace matrt::cuda

#endif

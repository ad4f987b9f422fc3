// The CUDA driver API, opened at run time (dlopen of libcuda.so.1) so that a
// model compiled with --target cuda starts on a machine without a driver and
// says so, instead of failing in the dynamic loader. The context is the
// primary context of device 0, created on first use.
#ifndef MATRT_CUDA_CUDADRIVER_H
#define MATRT_CUDA_CUDADRIVER_H

#include <cuda.h>

#include <string>

namespace matrt::cuda {

// The driver entry points matrt uses.
struct Driver {
  CUresult (*init)(unsigned int);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*getErrorString)(CUresult, const char **);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleLoadDataEx)(CUmodule *, const void *, unsigned int,
                               CUjit_option *, void **);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*funcSetAttribute)(CUfunction, CUfunction_attribute, int);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*streamCreate)(CUstream *, unsigned int);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
};

// The driver with a current context on this thread, or null when there is
// no usable driver or device; unavailableReason() then says why.
const Driver *driver();
const std::string &unavailableReason();

// The stream every launch and copy of matrt uses.
CUstream stream();

// Checks a driver call: on failure prints "error: CUDA <what>: <name>:
// <description>" and exits 1 (a failed launch or copy leaves nothing to
// recover).
void check(CUresult result, const char *what);

// Prints that this model needs an NVIDIA GPU and why there is none, then
// exits 1.
[[noreturn]] void exitWithoutDevice();

} // namespace matrt::cuda

#endif // MATRT_CUDA_CUDADRIVER_H

#include "CudaDriver.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace matrt::cuda {

namespace {

struct State {
  Driver functions{};
  bool ready = false;
  std::string reason;
  CUstream stream = nullptr;
};

template <typename Fn>
bool resolve(void *library, const char *name, Fn &slot) {
  slot = reinterpret_cast<Fn>(::dlsym(library, name));
  return slot != nullptr;
}

std::string describe(const Driver &d, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (d.getErrorName)
    d.getErrorName(result, &name);
  if (d.getErrorString)
    d.getErrorString(result, &text);
  return std::string(name ? name : "CUDA error " + std::to_string(result)) +
         (text ? std::string(": ") + text : "");
}

State &open() {
  static State state;
  static std::once_flag once;
  std::call_once(once, [] {
    void *library = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      state.reason = "no CUDA driver (libcuda.so.1 cannot be loaded: " +
                     std::string(::dlerror()) + ")";
      return;
    }
    Driver &d = state.functions;
    bool all = resolve(library, "cuInit", d.init) &&
               resolve(library, "cuDeviceGetCount", d.deviceGetCount) &&
               resolve(library, "cuDeviceGet", d.deviceGet) &&
               resolve(library, "cuDeviceGetName", d.deviceGetName) &&
               resolve(library, "cuDevicePrimaryCtxRetain", d.primaryCtxRetain) &&
               resolve(library, "cuCtxSetCurrent", d.ctxSetCurrent) &&
               resolve(library, "cuGetErrorName", d.getErrorName) &&
               resolve(library, "cuGetErrorString", d.getErrorString) &&
               resolve(library, "cuModuleLoadData", d.moduleLoadData) &&
               resolve(library, "cuModuleLoadDataEx", d.moduleLoadDataEx) &&
               resolve(library, "cuModuleUnload", d.moduleUnload) &&
               resolve(library, "cuModuleGetFunction", d.moduleGetFunction) &&
               resolve(library, "cuFuncSetAttribute", d.funcSetAttribute) &&
               resolve(library, "cuLaunchKernel", d.launchKernel) &&
               resolve(library, "cuStreamCreate", d.streamCreate) &&
               resolve(library, "cuStreamSynchronize", d.streamSynchronize) &&
               resolve(library, "cuMemAlloc_v2", d.memAlloc) &&
               resolve(library, "cuMemFree_v2", d.memFree) &&
               resolve(library, "cuMemcpyHtoD_v2", d.memcpyHtoD) &&
               resolve(library, "cuMemcpyDtoH_v2", d.memcpyDtoH) &&
               resolve(library, "cuMemcpyAsync", d.memcpyAsync) &&
               resolve(library, "cuMemsetD8_v2", d.memsetD8) &&
               resolve(library, "cuMemsetD32Async", d.memsetD32Async);
    if (!all) {
      state.reason = "the CUDA driver (libcuda.so.1) lacks a needed function: "
                     "it is too old";
      return;
    }
    if (CUresult result = d.init(0); result != CUDA_SUCCESS) {
      state.reason = "the CUDA driver did not initialize (" +
                     describe(d, result) + ")";
      return;
    }
    int count = 0;
    if (d.deviceGetCount(&count) != CUDA_SUCCESS || count == 0) {
      state.reason = "no CUDA device is present";
      return;
    }
    CUdevice device;
    CUcontext context;
    if (CUresult result = d.deviceGet(&device, 0); result != CUDA_SUCCESS) {
      state.reason = "device 0: " + describe(d, result);
      return;
    }
    if (CUresult result = d.primaryCtxRetain(&context, device);
        result != CUDA_SUCCESS) {
      state.reason = "device 0 has no context (" + describe(d, result) + ")";
      return;
    }
    d.ctxSetCurrent(context);
    if (CUresult result = d.streamCreate(&state.stream, CU_STREAM_DEFAULT);
        result != CUDA_SUCCESS) {
      state.reason = "cannot create a stream (" + describe(d, result) + ")";
      return;
    }
    state.ready = true;
  });
  return state;
}

} // namespace

const Driver *driver() {
  State &state = open();
  if (!state.ready)
    return nullptr;
  // The primary context is per process; make it current on this thread.
  static thread_local bool current = false;
  if (!current) {
    CUdevice device;
    CUcontext context;
    state.functions.deviceGet(&device, 0);
    state.functions.primaryCtxRetain(&context, device);
    state.functions.ctxSetCurrent(context);
    current = true;
  }
  return &state.functions;
}

const std::string &unavailableReason() { return open().reason; }

CUstream stream() { return open().stream; }

void check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  std::fprintf(stderr, "error: CUDA %s: %s\n", what,
               describe(open().functions, result).c_str());
  std::exit(1);
}

void exitWithoutDevice() {
  std::fprintf(stderr,
               "error: this model was compiled with --target cuda and needs "
               "an NVIDIA GPU: %s\n",
               unavailableReason().c_str());
  std::exit(1);
}

} // namespace matrt::cuda

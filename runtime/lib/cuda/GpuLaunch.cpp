// The mgpu* functions that MLIR's gpu-to-llvm lowering calls from a model's
// host code, on the CUDA driver API (Debian's MLIR ships no
// libmlir_cuda_runtime). The kernel module loads run in global constructors,
// before main: without a device they load nothing and remember why, and the
// model's entry (matrt_cuda_begin_forward, DeviceBuffers.cpp) reports it.

#include "CudaDriver.h"
#include "GpuLaunch.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

using namespace matrt::cuda;

namespace matrt::cuda {
namespace {
std::string &moduleLoadFailure() {
  static std::string failure;
  return failure;
}
} // namespace

const std::string &kernelLoadFailure() { return moduleLoadFailure(); }
} // namespace matrt::cuda

namespace {

CUmodule load(const void *data, unsigned optLevel, bool jit) {
  const Driver *d = driver();
  if (!d)
    return nullptr;
  CUmodule module = nullptr;
  CUresult result;
  if (jit) {
    CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL};
    void *values[] = {reinterpret_cast<void *>(uintptr_t(optLevel))};
    result = d->moduleLoadDataEx(&module, data, 1, options, values);
  } else {
    result = d->moduleLoadData(&module, data);
  }
  if (result != CUDA_SUCCESS) {
    const char *name = nullptr;
    d->getErrorName(result, &name);
    moduleLoadFailure() = std::string("the model's kernels do not load on "
                                      "this GPU (") +
                          (name ? name : "CUDA error") + ")";
    return nullptr;
  }
  return module;
}

/// MATRT_CUDA_PROFILE=1: every launch is timed (synchronously, so the
/// times include launch overhead) and a table of kernels by total time is
/// printed on stderr at exit. test/gpu/run-on-device.sh reads it.
struct Profile {
  struct Entry {
    int64_t calls = 0;
    double seconds = 0;
  };
  bool enabled = std::getenv("MATRT_CUDA_PROFILE") != nullptr;
  std::map<CUfunction, std::string> names;
  std::map<std::string, Entry> kernels;

  ~Profile() {
    if (!enabled || kernels.empty())
      return;
    std::vector<std::pair<std::string, Entry>> rows(kernels.begin(),
                                                    kernels.end());
    std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
      return a.second.seconds > b.second.seconds;
    });
    std::fprintf(stderr, "matrt cuda profile: kernel, calls, total ms, mean us\n");
    for (const auto &[name, entry] : rows)
      std::fprintf(stderr, "  %-48s %8lld %10.3f %10.2f\n", name.c_str(),
                   static_cast<long long>(entry.calls), entry.seconds * 1e3,
                   entry.seconds * 1e6 / double(entry.calls));
  }
};

Profile &profile() {
  static Profile state;
  return state;
}

} // namespace

extern "C" {

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  return load(data, 0, /*jit=*/false);
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  return load(data, static_cast<unsigned>(optLevel), /*jit=*/true);
}

void mgpuModuleUnload(void *module) {
  // At exit the driver may already be gone; unloading is the process's end.
  (void)module;
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  const Driver *d = driver();
  if (!d || !module)
    exitWithoutDevice();
  CUfunction function = nullptr;
  check(d->moduleGetFunction(&function, static_cast<CUmodule>(module), name),
        "cuModuleGetFunction");
  if (profile().enabled)
    profile().names[function] = name;
  return function;
}

void *mgpuStreamCreate() { return stream(); }

void mgpuStreamDestroy(void *) {}

void mgpuStreamSynchronize(void *s) {
  check(driver()->streamSynchronize(static_cast<CUstream>(s)),
        "cuStreamSynchronize (a kernel failed)");
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *s,
                      void **params, void **extra, size_t /*paramsCount*/) {
  const Driver *d = driver();
  auto fn = static_cast<CUfunction>(function);
  // Past 48 KB, dynamic shared memory must be asked for per function.
  if (sharedBytes > 48 * 1024)
    check(d->funcSetAttribute(fn,
                              CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                              sharedBytes),
          "cuFuncSetAttribute (dynamic shared memory)");
  // An empty grid (no tokens, no rows) launches nothing.
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return;
  Profile &timing = profile();
  if (timing.enabled)
    check(d->streamSynchronize(static_cast<CUstream>(s)), "cuStreamSynchronize");
  auto started = std::chrono::steady_clock::now();
  check(d->launchKernel(fn, unsigned(gridX), unsigned(gridY), unsigned(gridZ),
                        unsigned(blockX), unsigned(blockY), unsigned(blockZ),
                        unsigned(sharedBytes), static_cast<CUstream>(s), params,
                        extra),
        "cuLaunchKernel");
  if (timing.enabled) {
    check(d->streamSynchronize(static_cast<CUstream>(s)),
          "cuStreamSynchronize (a kernel failed)");
    Profile::Entry &entry = timing.kernels[timing.names[fn]];
    entry.calls += 1;
    entry.seconds += std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  }
}

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool /*hostShared*/) {
  CUdeviceptr pointer = 0;
  if (bytes == 0)
    return nullptr;
  check(driver()->memAlloc(&pointer, bytes), "cuMemAlloc");
  return reinterpret_cast<void *>(pointer);
}

void mgpuMemFree(void *pointer, void * /*stream*/) {
  if (pointer)
    check(driver()->memFree(reinterpret_cast<CUdeviceptr>(pointer)),
          "cuMemFree");
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, void *s) {
  check(driver()->memcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                              reinterpret_cast<CUdeviceptr>(src), bytes,
                              static_cast<CUstream>(s)),
        "cuMemcpyAsync");
}

void mgpuMemset32(void *dst, unsigned int value, size_t count, void *s) {
  check(driver()->memsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value,
                                 count, static_cast<CUstream>(s)),
        "cuMemsetD32Async");
}

} // extern "C"

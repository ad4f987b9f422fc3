// The buffer placement of matc/abi/CudaAbi.h: what a CUDA model's entry
// calls to turn the runtime's host pointers into device memory. Weights are
// uploaded once and caches live on the device, both keyed by the host
// pointer the runtime passes (stable for the life of a weight store or a
// ModelRunner); tokens and logits go through per-call staging buffers.

#include "CudaDriver.h"
#include "GpuLaunch.h"
#include "matc/abi/CudaAbi.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

using namespace matrt::cuda;

namespace {

struct DeviceBuffer {
  CUdeviceptr pointer = 0;
  int64_t bytes = 0;
};

struct Placement {
  std::mutex forward; // one forward call at a time
  std::map<const void *, DeviceBuffer> weights, resident;
  std::vector<DeviceBuffer> slots;
};

Placement &placement() {
  static Placement state;
  return state;
}

/// `buffer` resized to at least `bytes`; `fresh` says whether it was
/// (re)allocated.
void reserve(DeviceBuffer &buffer, int64_t bytes, bool &fresh) {
  fresh = false;
  if (buffer.pointer && buffer.bytes >= bytes)
    return;
  const Driver *d = driver();
  if (buffer.pointer)
    check(d->memFree(buffer.pointer), "cuMemFree");
  check(d->memAlloc(&buffer.pointer, static_cast<size_t>(bytes > 0 ? bytes : 1)),
        "cuMemAlloc");
  buffer.bytes = bytes;
  fresh = true;
}

DeviceBuffer &slot(int64_t index) {
  std::vector<DeviceBuffer> &slots = placement().slots;
  if (static_cast<size_t>(index) >= slots.size())
    slots.resize(static_cast<size_t>(index) + 1);
  return slots[static_cast<size_t>(index)];
}

void *asPointer(CUdeviceptr pointer) {
  return reinterpret_cast<void *>(pointer);
}

} // namespace

extern "C" {

void matrt_cuda_begin_forward() {
  if (!driver())
    exitWithoutDevice();
  if (!kernelLoadFailure().empty()) {
    std::fprintf(stderr, "error: %s\n", kernelLoadFailure().c_str());
    std::exit(1);
  }
  placement().forward.lock();
}

void matrt_cuda_end_forward() { placement().forward.unlock(); }

void *matrt_cuda_weight(const void *host, int64_t bytes) {
  DeviceBuffer &buffer = placement().weights[host];
  if (buffer.bytes != bytes) {
    bool fresh;
    buffer.bytes = 0;
    reserve(buffer, bytes, fresh);
    check(driver()->memcpyHtoD(buffer.pointer, host, static_cast<size_t>(bytes)),
          "cuMemcpyHtoD (weights)");
  }
  return asPointer(buffer.pointer);
}

void *matrt_cuda_resident(const void *host, int64_t bytes) {
  DeviceBuffer &buffer = placement().resident[host];
  bool fresh;
  reserve(buffer, bytes, fresh);
  if (fresh)
    check(driver()->memsetD8(buffer.pointer, 0, static_cast<size_t>(bytes)),
          "cuMemsetD8 (KV cache)");
  return asPointer(buffer.pointer);
}

void *matrt_cuda_copy_in(int64_t index, const void *host, int64_t capacity,
                         int64_t bytes) {
  DeviceBuffer &buffer = slot(index);
  bool fresh;
  reserve(buffer, capacity, fresh);
  if (bytes > 0)
    check(driver()->memcpyHtoD(buffer.pointer, host, static_cast<size_t>(bytes)),
          "cuMemcpyHtoD (tokens)");
  return asPointer(buffer.pointer);
}

void *matrt_cuda_output(int64_t index, int64_t capacity) {
  DeviceBuffer &buffer = slot(index);
  bool fresh;
  reserve(buffer, capacity, fresh);
  return asPointer(buffer.pointer);
}

void matrt_cuda_copy_out(int64_t index, void *host, int64_t bytes) {
  const Driver *d = driver();
  check(d->streamSynchronize(stream()), "cuStreamSynchronize (a kernel failed)");
  if (bytes > 0)
    check(d->memcpyDtoH(host, slot(index).pointer, static_cast<size_t>(bytes)),
          "cuMemcpyDtoH (logits)");
}

} // extern "C"

#include "matrt/AlignedBuffer.h"

#include <cstring>

namespace matrt {

AlignedBuffer::AlignedBuffer(std::size_t bytes) {
  // Even an empty buffer gets a real, aligned address, so callers can hand
  // its pointer to generated code without special cases.
  std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded < bytes)
    return; // overflow
  if (rounded == 0)
    rounded = kAlignment;
  void *pointer = nullptr;
  if (::posix_memalign(&pointer, kAlignment, rounded) != 0)
    return;
  std::memset(pointer, 0, rounded);
  storage.reset(pointer);
  numBytes = bytes;
}

} // namespace matrt

// libFuzzer target: the compiled model's manifest reader
// (runtime/lib/Manifest.cpp). Every buffer of an accepted manifest must be
// within kMaxBufferElements, so the runtime can allocate it without overflow.
#include "matrt/Manifest.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  if (text.find('@') != std::string::npos)
    return -1; // "@file" mixes read the file system
  matc::spec::Diagnostics diags;
  std::optional<matrt::Manifest> manifest = matrt::parseManifest(text, diags);
  if (!manifest) {
    if (!diags.hasErrors())
      std::abort();
    return 0;
  }
  for (const auto &[name, buffer] : manifest->buffers) {
    int64_t count = 1;
    for (int64_t dim : buffer.shape)
      if (dim < 0 || __builtin_mul_overflow(count, dim, &count))
        std::abort();
    if (count > matrt::kMaxBufferElements)
      std::abort();
  }
  return 0;
}

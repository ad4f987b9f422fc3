// libFuzzer target: the safetensors header and tensor-table reader
// (spec/lib/SafetensorsHeader.cpp). The input is a whole file; an accepted
// header's every tensor must lie inside it with the bytes its shape needs.
#include "matc/spec/Safetensors.h"

#include <cstdint>
#include <cstdlib>

using namespace matc::spec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diagnostics diags;
  std::optional<SafetensorsHeader> header =
      parseSafetensorsHeader(data, size, diags);
  if (!header) {
    if (!diags.hasErrors())
      std::abort();
    return 0;
  }
  for (const TensorInfo &tensor : header->tensors) {
    if (tensor.begin > tensor.end ||
        header->dataStart + tensor.end > static_cast<uint64_t>(size))
      std::abort();
    uint64_t bytes = dtypeSize(tensor.dtype);
    for (int64_t dim : tensor.shape)
      bytes *= static_cast<uint64_t>(dim);
    if (bytes != tensor.end - tensor.begin)
      std::abort();
    // Touch the first and last byte: ASan reports a read outside the input.
    if (tensor.end > tensor.begin) {
      volatile uint8_t first = data[header->dataStart + tensor.begin];
      volatile uint8_t last = data[header->dataStart + tensor.end - 1];
      (void)first;
      (void)last;
    }
    (void)tensor.numElements();
  }
  return 0;
}

// libFuzzer target: the MIX parser (spec/lib/Mix.cpp), text and MatFormer Lab
// JSON forms, against a fixed 4-layer spec and against per-layer widths from
// the input's first bytes. An accepted mix must format and parse back to
// itself.
#include "matc/spec/Mix.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace matc::spec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return -1;
  // Byte 0: number of layers (0..15); byte 1: granularity set.
  int64_t numLayers = data[0] % 16;
  std::vector<int64_t> granularities;
  if (data[1] & 1)
    granularities = {32, 64, 128, 256};
  else if (data[1] & 2)
    granularities = {256};
  std::vector<int64_t> maxWidth(static_cast<size_t>(numLayers), 256);
  if ((data[1] & 4) && numLayers > 0)
    maxWidth[0] = 64;
  std::string text(reinterpret_cast<const char *>(data) + 2, size - 2);
  if (!text.empty() && text.find('@') != std::string::npos)
    return -1; // "@file" reads the file system
  Diagnostics diags;
  std::optional<Mix> mix =
      parseMix(text, numLayers, granularities, maxWidth, diags);
  if (!mix) {
    if (!diags.hasErrors())
      std::abort();
    return 0;
  }
  if (mix->size() != static_cast<size_t>(numLayers))
    std::abort();
  Diagnostics again;
  std::optional<Mix> round =
      parseMix(formatMix(*mix), numLayers, granularities, maxWidth, again);
  if (!round || *round != *mix)
    std::abort();
  return 0;
}

#include "matrt/DTypeConversion.h"

#include <cassert>
#include <cmath>
#include <cstring>

namespace matrt {

using matc::spec::DType;

float halfToFloat(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in f32.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t result;
  if (exponent == 0x1f)
    result = sign | 0x7f800000u | (mantissa << 13); // inf or NaN
  else
    result = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

namespace {

// Reads element `index` through memcpy, since mapped tensors may be
// misaligned.
float loadAsFloat(const uint8_t *source, DType dtype, uint64_t index) {
  switch (dtype) {
  case DType::F32: {
    float value;
    std::memcpy(&value, source + 4 * index, 4);
    return value;
  }
  case DType::BF16:
  case DType::F16: {
    uint16_t bits;
    std::memcpy(&bits, source + 2 * index, 2);
    return dtype == DType::BF16 ? matc::spec::bf16ToFloat(bits)
                                : halfToFloat(bits);
  }
  }
  return 0;
}

} // namespace

void convertElements(const void *source, DType from, void *destination,
                     DType to, uint64_t count) {
  assert(to != DType::F16 && "compiled models take F32 or BF16 weights");
  const uint8_t *bytes = static_cast<const uint8_t *>(source);
  if (from == to) {
    std::memcpy(destination, source, count * matc::spec::dtypeSize(from));
    return;
  }
  if (to == DType::BF16) {
    uint16_t *out = static_cast<uint16_t *>(destination);
    for (uint64_t i = 0; i < count; ++i)
      out[i] = matc::spec::floatToBf16(loadAsFloat(bytes, from, i));
    return;
  }
  float *out = static_cast<float *>(destination);
  for (uint64_t i = 0; i < count; ++i)
    out[i] = loadAsFloat(bytes, from, i);
}

} // namespace matrt

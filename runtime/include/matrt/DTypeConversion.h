#ifndef MATRT_DTYPECONVERSION_H
#define MATRT_DTYPECONVERSION_H

#include "matc/spec/Safetensors.h"

#include <cstdint>

namespace matrt {

// IEEE half precision to f32, exactly (every f16 is representable).
float halfToFloat(uint16_t bits);

// Converts `count` elements from `from` to `to` (any of F32, BF16, F16 to F32
// or BF16). `source` need not be aligned; `destination` must be.
// Narrowing to BF16 rounds to nearest even.
void convertElements(const void *source, matc::spec::DType from,
                     void *destination, matc::spec::DType to, uint64_t count);

} // namespace matrt

#endif // MATRT_DTYPECONVERSION_H

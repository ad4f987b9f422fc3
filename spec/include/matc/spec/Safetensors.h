#ifndef MATC_SPEC_SAFETENSORS_H
#define MATC_SPEC_SAFETENSORS_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace matc::spec {

enum class DType { F32, BF16, F16 };

std::size_t dtypeSize(DType dtype);
// The safetensors spelling: "F32", "BF16", "F16".
const char *dtypeName(DType dtype);
std::optional<DType> parseDTypeName(const std::string &name);

// bf16 is the top half of an f32; the conversion rounds to nearest even.
float bf16ToFloat(uint16_t bits);
uint16_t floatToBf16(float value);

// "[4096, 512]", as shapes appear in diagnostics.
std::string formatShape(const std::vector<int64_t> &shape);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0; // byte offsets relative to the start of the data
  uint64_t end = 0;
  int64_t numElements() const;
};

struct SafetensorsHeader {
  uint64_t headerSize = 0;
  uint64_t dataStart = 0;          // 8 + headerSize
  std::vector<TensorInfo> tensors; // in the header's order
  std::map<std::string, std::string> metadata;
  const TensorInfo *find(const std::string &name) const;
};

// Parses and validates the header of a safetensors file of `fileSize` bytes;
// only the first 8 + header length bytes of `fileData` are read. Every
// offset is checked against the file, so a caller may then read tensor data
// without further bounds checks.
std::optional<SafetensorsHeader> parseSafetensorsHeader(const uint8_t *fileData,
                                                        uint64_t fileSize,
                                                        Diagnostics &diags);
// Reads just the header of the file at `path` and parses it.
std::optional<SafetensorsHeader> loadSafetensorsHeader(const std::string &path,
                                                       Diagnostics &diags);

// The tensors a checkpoint for `spec` holds (docs/REFERENCE.md,
// Checkpoints): Hugging Face Llama names, weights [out, in]; no lm_head when
// embeddings are tied; per-layer FFN widths for a sliced spec, and no mlp
// tensors at width 0.
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
};
std::vector<ExpectedTensor> expectedTensors(const ModelSpec &spec);

// Every expected tensor must be present with the expected shape; tensors
// the spec does not use are a warning.
bool checkCheckpoint(const SafetensorsHeader &header, const ModelSpec &spec,
                     Diagnostics &diags);

struct TensorData {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  uint64_t bytes = 0;
};

// Writes tensors in the given order after a header padded to 8 bytes. The file
// appears atomically (written under a temporary name, then renamed).
bool writeSafetensors(const std::string &path,
                      const std::vector<TensorData> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      Diagnostics &diags);

} // namespace matc::spec

#endif // MATC_SPEC_SAFETENSORS_H

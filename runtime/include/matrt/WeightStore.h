#ifndef MATRT_WEIGHTSTORE_H
#define MATRT_WEIGHTSTORE_H

#include "matc/spec/Diagnostics.h"
#include "matrt/AlignedBuffer.h"
#include "matrt/Manifest.h"
#include "matrt/MappedFile.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace matrt {

// The weights of one checkpoint, laid out as a compiled model wants them:
// one data pointer per manifest weight, in manifest order, of the manifest's
// dtype and aligned to its element size.
//
// Tensors already in that form point straight into the mapped file (zero
// copy). A tensor of another dtype (say, a BF16 checkpoint for an F32 binary)
// is converted into an owned buffer, and a misaligned one is copied.
class WeightStore {
public:
  // Validates the file (header, every manifest tensor present with exactly the
  // manifest shape); every error names the file and the tensor. Converting
  // dtypes adds one warning.
  static std::unique_ptr<WeightStore> load(const std::string &path,
                                           const Manifest &manifest,
                                           matc::spec::Diagnostics &diags);

  void *const *pointers() const { return dataPointers.data(); }
  std::size_t size() const { return dataPointers.size(); }
  // Bytes held in owned buffers rather than the mapping.
  uint64_t copiedBytes() const { return numCopiedBytes; }

private:
  WeightStore() = default;

  MappedFile file;
  std::vector<AlignedBuffer> ownedTensors;
  std::vector<void *> dataPointers;
  uint64_t numCopiedBytes = 0;
};

} // namespace matrt

#endif // MATRT_WEIGHTSTORE_H

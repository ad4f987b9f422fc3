#ifndef MATRT_MAPPEDFILE_H
#define MATRT_MAPPEDFILE_H

#include "matc/spec/Diagnostics.h"

#include <cstdint>
#include <string>

namespace matrt {

// A whole file mapped read-only (MAP_PRIVATE), so weights are used in place:
// the OS pages them in on demand and shares them between processes.
class MappedFile {
public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  // Errors name the path.
  bool open(const std::string &path, matc::spec::Diagnostics &diags);

  // Never null, even for an empty file, so parsers need no special case.
  const uint8_t *data() const { return bytes; }
  uint64_t size() const { return numBytes; }

private:
  void close();

  const uint8_t *bytes = reinterpret_cast<const uint8_t *>("");
  uint64_t numBytes = 0;
  void *mapping = nullptr;
};

} // namespace matrt

#endif // MATRT_MAPPEDFILE_H

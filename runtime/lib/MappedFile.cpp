#include "matrt/MappedFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace matrt {

MappedFile::~MappedFile() { close(); }

void MappedFile::close() {
  if (mapping)
    ::munmap(mapping, numBytes);
  mapping = nullptr;
  bytes = reinterpret_cast<const uint8_t *>("");
  numBytes = 0;
}

bool MappedFile::open(const std::string &path, matc::spec::Diagnostics &diags) {
  close();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    diags.error(path, std::string("cannot open for reading: ") +
                          std::strerror(errno));
    return false;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    std::string reason =
        S_ISDIR(info.st_mode) ? "is a directory" : "not a regular file";
    ::close(fd);
    diags.error(path, "cannot read: " + reason);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(info.st_size);
  // mmap rejects a zero length; an empty file is left for the safetensors
  // parser to call truncated.
  if (size != 0) {
    void *pointer = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (pointer == MAP_FAILED) {
      std::string reason = std::strerror(errno);
      ::close(fd);
      diags.error(path, "cannot map into memory: " + reason);
      return false;
    }
    mapping = pointer;
    bytes = static_cast<const uint8_t *>(pointer);
    numBytes = size;
  }
  ::close(fd); // the mapping stays valid without the descriptor
  return true;
}

} // namespace matrt

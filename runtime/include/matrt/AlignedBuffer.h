#ifndef MATRT_ALIGNEDBUFFER_H
#define MATRT_ALIGNEDBUFFER_H

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace matrt {

// Owned, zero-filled memory aligned for vector loads. Allocation failure is
// reported through ok() instead of an exception: the runtime is built with
// -fno-exceptions and a model too large for memory is a user error.
class AlignedBuffer {
public:
  static constexpr std::size_t kAlignment = 64;

  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t bytes);

  bool ok() const { return storage != nullptr; }
  std::size_t size() const { return numBytes; }
  void *data() const { return storage.get(); }
  template <typename T> T *as() const { return static_cast<T *>(data()); }

private:
  struct Free {
    void operator()(void *pointer) const { std::free(pointer); }
  };
  std::unique_ptr<void, Free> storage;
  std::size_t numBytes = 0;
};

} // namespace matrt

#endif // MATRT_ALIGNEDBUFFER_H

// main() of every compiled program, in its own library (libmatrt_main.a) so
// that programs embedding the runtime can link libmatrt.a with their own.

#include "matrt/ModelAbi.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int main(int argc, char **argv) {
#if defined(__GLIBC__)
  // The generated code allocates its activations with malloc on every call
  // (a prefill of 512 tokens on the 270M spec: buffers of 2-8 MiB). Above
  // glibc's mmap threshold each one is a fresh mapping, so every call paid
  // its page faults and zeroing again (4% of a prefill in `perf`). Keeping
  // them on the heap, and the heap's freed top unreturned, lets the next
  // call reuse the pages. A standalone program only: an embedding program
  // keeps its own allocator settings.
  // 32 MiB is the largest threshold glibc accepts on 64-bit.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return matrt::runCompiledModel(argc, argv);
}

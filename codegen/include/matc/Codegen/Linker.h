//===- Linker.h - object + matrt -> executable ------------------*- C++ -*-===//
#ifndef MATC_CODEGEN_LINKER_H
#define MATC_CODEGEN_LINKER_H

#include <string>

namespace matc {

/// Where the runtime archives (libmatrt_main.a, libmatrt_cli.a,
/// libmatrt_core.a, libMatcSpec.a) live: $MATC_RUNTIME_DIR when set, else
/// ../lib beside the binary holding the compiler (bin/matc or libmatc.so,
/// in the build tree and in an installed tree alike, so an installed tree
/// can move), else the build tree's lib/ folder.
std::string defaultRuntimeDir();

/// Links `objectPath` with the runtime into `outputPath` (written under a
/// temporary name, then renamed) using the system C++ driver: an executable
/// with the command line, or with `sharedLibrary` a shared library holding
/// the runtime core that exports only the C API of matrt/matrt.h and the
/// model's ABI symbols (matc_model_*) (everything else is local, so several
/// such libraries load into one process). With `cuda`, the runtime's CUDA
/// backend (libmatrt_cuda.a: the mgpu* launch functions and the device
/// buffers of matc/abi/CudaAbi.h) is linked too. On failure, `error` holds
/// the linker's complaint.
bool linkExecutable(const std::string &objectPath,
                    const std::string &outputPath,
                    const std::string &runtimeDir, std::string &error,
                    bool sharedLibrary = false, bool cuda = false);

} // namespace matc

#endif

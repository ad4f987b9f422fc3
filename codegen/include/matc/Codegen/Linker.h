//===- Linker.h - object + matrt -> executable ------------------*- C++ -*-===//
#ifndef MATC_CODEGEN_LINKER_H
#define MATC_CODEGEN_LINKER_H

#include <string>

namespace matc {

/// Where libmatrt.a, libmatrt_main.a and libMatcSpec.a live: $MATC_RUNTIME_DIR
/// when set, else the build tree's lib/ folder.
std::string defaultRuntimeDir();

/// Links `objectPath` with the runtime into the executable `outputPath`
/// (written under a temporary name, then renamed) using the system C++
/// driver. On failure, `error` holds the linker's complaint.
bool linkExecutable(const std::string &objectPath,
                    const std::string &outputPath,
                    const std::string &runtimeDir, std::string &error);

} // namespace matc

#endif

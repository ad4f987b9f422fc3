//===- Linker.cpp - object + matrt -> executable ---------------------------===//
#include "matc/Codegen/Linker.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

std::string matc::defaultRuntimeDir() {
  if (const char *dir = std::getenv("MATC_RUNTIME_DIR"))
    return dir;
  return MATC_RUNTIME_DIR;
}

bool matc::linkExecutable(const std::string &objectPath,
                          const std::string &outputPath,
                          const std::string &runtimeDir, std::string &error) {
  llvm::ErrorOr<std::string> driver = llvm::sys::findProgramByName("c++");
  if (!driver) {
    error = "no C++ compiler driver (c++) on PATH to link with";
    return false;
  }
  std::vector<std::string> libraries;
  for (const char *name : {"libmatrt_main.a", "libmatrt.a", "libMatcSpec.a"}) {
    llvm::SmallString<256> path(runtimeDir);
    llvm::sys::path::append(path, name);
    if (!llvm::sys::fs::exists(path)) {
      error = "runtime library " + std::string(path) +
              " not found (set MATC_RUNTIME_DIR to the folder holding it)";
      return false;
    }
    libraries.push_back(std::string(path));
  }
  std::string temporary =
      outputPath + ".tmp." + std::to_string(llvm::sys::Process::getProcessId());
  std::vector<llvm::StringRef> args = {*driver, "-o", temporary, objectPath};
  for (const std::string &library : libraries)
    args.push_back(library);
  // The OpenMP lowering calls LLVM's OpenMP runtime (GCC's libgomp lacks
  // the __kmpc entry points).
  std::string ompDir = MATC_OPENMP_LIB_DIR;
  std::string ompSearch = "-L" + ompDir, ompRpath = "-Wl,-rpath," + ompDir;
  args.push_back(ompSearch);
  args.push_back("-lomp");
  args.push_back(ompRpath);
  args.push_back("-lm");

  llvm::SmallString<128> logPath;
  llvm::sys::fs::createTemporaryFile("matc-link", "log", logPath);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath.str(),
                                                logPath.str()};
  int status = llvm::sys::ExecuteAndWait(*driver, args, std::nullopt,
                                         redirects, 0, 0, &error);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  llvm::sys::fs::remove(logPath);
  if (status != 0) {
    llvm::sys::fs::remove(temporary);
    error = "linking " + outputPath + " failed" +
            (error.empty() ? "" : ": " + error) +
            (log ? "\n" + (*log)->getBuffer().str() : "");
    return false;
  }
  if (std::error_code ec = llvm::sys::fs::rename(temporary, outputPath)) {
    llvm::sys::fs::remove(temporary);
    error = "cannot write " + outputPath + ": " + ec.message();
    return false;
  }
  return true;
}

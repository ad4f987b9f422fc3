//===- Linker.cpp - object + matrt -> executable ---------------------------===//
#include "matc/Codegen/Linker.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <vector>
#include <dlfcn.h>

/// The file holding this code: bin/matc, or libmatc.so in a host program.
static std::string compilerBinaryPath() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&compilerBinaryPath), &info) &&
      info.dli_fname && llvm::sys::path::is_absolute(info.dli_fname))
    return info.dli_fname;
  static int anchor;
  return llvm::sys::fs::getMainExecutable(nullptr, &anchor);
}

std::string matc::defaultRuntimeDir() {
  if (const char *dir = std::getenv("MATC_RUNTIME_DIR"))
    return dir;
  std::string binary = compilerBinaryPath();
  if (!binary.empty()) {
    llvm::SmallString<256> real;
    if (llvm::sys::fs::real_path(binary, real))
      real = binary;
    llvm::SmallString<256> home = llvm::sys::path::parent_path(real);
    // libmatc.so sits beside the archives; bin/matc finds them in ../lib
    // (the build tree) or ../<libdir> (an installed tree).
    std::vector<llvm::SmallString<256>> candidates = {home};
    for (const char *libdir : {"lib", MATC_INSTALL_LIBDIR}) {
      llvm::SmallString<256> dir(home);
      llvm::sys::path::append(dir, "..", libdir);
      candidates.push_back(dir);
    }
    for (llvm::SmallString<256> &dir : candidates) {
      llvm::SmallString<256> probe(dir);
      llvm::sys::path::append(probe, "libmatrt_core.a");
      if (llvm::sys::fs::exists(probe)) {
        llvm::sys::path::remove_dots(dir, /*remove_dot_dot=*/true);
        return std::string(dir);
      }
    }
  }
  return MATC_RUNTIME_DIR;
}

bool matc::linkExecutable(const std::string &objectPath,
                          const std::string &outputPath,
                          const std::string &runtimeDir, std::string &error,
                          bool sharedLibrary, bool cuda) {
  llvm::ErrorOr<std::string> driver = llvm::sys::findProgramByName("c++");
  if (!driver) {
    error = "no C++ compiler driver (c++) on PATH to link with";
    return false;
  }
  std::vector<std::string> libraries;
  std::vector<const char *> names = {"libmatrt_main.a", "libmatrt_cli.a",
                                     "libmatrt_core.a", "libMatcSpec.a"};
  if (sharedLibrary)
    names = {"libmatrt_core.a", "libMatcSpec.a"};
  if (cuda)
    names.insert(names.begin(), "libmatrt_cuda.a");
  for (const char *name : names) {
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
  llvm::SmallString<128> versionScript;
  std::string versionScriptFlag;
  if (sharedLibrary) {
    // Export the C API and the ABI symbols only; -Bsymbolic binds the
    // library's own references to its own model, whatever else is loaded.
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "matc-exports", "ver", versionScript)) {
      error = "cannot create a temporary version script: " + ec.message();
      return false;
    }
    std::error_code ec;
    llvm::raw_fd_ostream script(versionScript, ec);
    // matc_model_*: the manifest, forward, loss and (with --train) the
    // training entry points of matc/abi/ModelAbi.h.
    script << "{\n  global:\n    matrt_*;\n    matc_model_*;\n"
              "  local:\n    *;\n};\n";
    script.close();
    versionScriptFlag = "-Wl,--version-script=" + versionScript.str().str();
    args.push_back("-shared");
    args.push_back(versionScriptFlag);
    args.push_back("-Wl,-Bsymbolic");
    // The C API lives in the core archive, which nothing in the model
    // object refers to.
    args.push_back("-Wl,--whole-archive");
    args.push_back(libraries[0]);
    args.push_back("-Wl,--no-whole-archive");
    args.push_back(libraries[1]);
  } else {
    for (const std::string &library : libraries)
      args.push_back(library);
  }
  // The OpenMP lowering calls LLVM's OpenMP runtime (GCC's libgomp lacks
  // the __kmpc entry points).
  std::string ompDir = MATC_OPENMP_LIB_DIR;
  std::string ompSearch = "-L" + ompDir, ompRpath = "-Wl,-rpath," + ompDir;
  args.push_back(ompSearch);
  args.push_back("-lomp");
  args.push_back(ompRpath);
  args.push_back("-lm");
  if (cuda)
    args.push_back("-ldl"); // the driver is opened at run time

  llvm::SmallString<128> logPath;
  llvm::sys::fs::createTemporaryFile("matc-link", "log", logPath);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath.str(),
                                                logPath.str()};
  int status = llvm::sys::ExecuteAndWait(*driver, args, std::nullopt,
                                         redirects, 0, 0, &error);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  llvm::sys::fs::remove(logPath);
  if (!versionScript.empty())
    llvm::sys::fs::remove(versionScript);
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

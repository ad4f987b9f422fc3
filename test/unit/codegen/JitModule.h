//===- JitModule.h - run generated code in a test ---------------*- C++ -*-===//
//
// Compiles MLIR text through the pipeline a model takes after the front end
// (matc-to-linalg, then the host's CPU back end) and JIT-compiles the result,
// so a test can call the generated functions. Functions to be called carry
// `attributes {llvm.emit_c_interface}` and are looked up as
// `_mlir_ciface_NAME`; memrefs pass as pointers to StridedMemRefType.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_TEST_UNIT_CODEGEN_JITMODULE_H
#define MATC_TEST_UNIT_CODEGEN_JITMODULE_H

#include "CPU/CpuTarget.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/MLIRContext.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace matc::test {

class JitModule {
public:
  /// Compiles `source` with the host's kernel shapes, or with `config`;
  /// on failure, returns null and sets `error` to the diagnostics.
  static std::unique_ptr<JitModule> compile(const std::string &source,
                                            std::string &error);
  static std::unique_ptr<JitModule>
  compile(const std::string &source, std::string &error,
          const matc::cpu::KernelConfig &config);

  /// The address of `_mlir_ciface_<name>`, or null.
  void *lookup(const std::string &name) const;

private:
  mlir::MLIRContext context;
  std::function<llvm::Error(llvm::Module *)> optimize;
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

/// A rank-3 f32 buffer in row-major order and its memref descriptor.
struct Buffer3d {
  Buffer3d(int64_t d0, int64_t d1, int64_t d2);
  float &at(int64_t i, int64_t j, int64_t k) {
    return data[(i * sizes[1] + j) * sizes[2] + k];
  }
  StridedMemRefType<float, 3> *descriptor();

  int64_t sizes[3];
  std::vector<float> data;
  StridedMemRefType<float, 3> memref;
};

} // namespace matc::test

#endif

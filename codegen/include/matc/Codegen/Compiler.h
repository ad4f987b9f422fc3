//===- Compiler.h - matc as a library ---------------------------*- C++ -*-===//
//
// The compiler's C++ API: what `matc compile` does, callable from any
// program. One Compiler owns one MLIRContext; diagnostics (with their IR
// locations) and spec errors go to the stream given at construction.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_CODEGEN_COMPILER_H
#define MATC_CODEGEN_COMPILER_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <optional>
#include <string>

namespace matc {

enum class EmitKind { Exe, Lib, Obj, Mlir, Linalg, Llvm, Ptx };
enum class Target { Cpu, Cuda };

struct CompileOptions {
  std::string specPath;
  /// The spec's JSON text; when set it is parsed instead of reading
  /// `specPath`, which then only names the spec in messages.
  std::optional<std::string> specText;
  std::string outputPath;
  /// A MIX (docs/REFERENCE.md, Mix'n'Match syntax); unset means the spec's
  /// `matformer.mix`.
  std::optional<std::string> mix;
  /// Keep widths as run-time values: one binary for every MIX.
  bool elastic = false;
  Target target = Target::Cpu;
  std::string cudaArch = "sm_90";
  /// Tests without a GPU: build the CUDA back end's kernels as serial CPU
  /// loops into a CPU program (codegen/CUDA/CudaPipeline.h).
  bool cudaEmulateOnCpu = false;
  /// Projections on bf16 tensor cores (mma.sync), activations rounded to
  /// bf16 (codegen/CUDA/Passes.td, TensorCoreMatmuls).
  bool cudaTensorCores = false;
  EmitKind emit = EmitKind::Exe;
  bool bf16Weights = false;
  bool train = false;
  unsigned optLevel = 2;
  /// CPU to generate code for, by LLVM's name (znver3, x86-64-v4, ...);
  /// empty: the machine the compiler runs on.
  std::string cpu;
  /// Print the time of each stage (import, the pass pipelines, LLVM code
  /// generation, linking); `mlirTiming` adds every pass.
  bool timing = false, mlirTiming = false;
  /// Key positions per tile of the CPU's online-softmax attention; 0: the
  /// back end's default.
  int64_t attentionTile = 0;
  /// Print the IR after every pass to the diagnostics stream.
  bool printIrAfterAll = false;
};

/// Parses `text` ("exe", "mlir", ...); nullopt when it names nothing.
std::optional<EmitKind> parseEmitKind(llvm::StringRef text);
std::optional<Target> parseTarget(llvm::StringRef text);
/// Empty when `options` combine target, architecture and output kind in a
/// way the compiler supports; otherwise what is wrong, naming the flags
/// (`matc compile` reports it as a usage error).
std::string checkTargetOptions(const CompileOptions &options);

/// Every dialect matc's IR and pipelines use.
void registerMatcDialects(mlir::DialectRegistry &registry);
/// matc's own passes and named stage pipelines, for matc-opt and for
/// textual pipelines.
void registerMatcPasses();

class Compiler {
public:
  explicit Compiler(llvm::raw_ostream &diagnostics = llvm::errs());
  ~Compiler();

  mlir::MLIRContext &getContext() { return context; }

  /// Receives the spec, MIX and output-file diagnostics as records (source,
  /// field, message) instead of printing them to the diagnostics stream;
  /// everything else (MLIR diagnostics, the summary line) still goes to the
  /// stream. Used by the C API (matc/matc.h).
  using DiagnosticHandler = std::function<void(const spec::Diagnostic &)>;
  void setDiagnosticHandler(DiagnosticHandler handler) {
    diagnosticHandler = std::move(handler);
  }

  /// The universal model of `spec`, straight from the importer.
  mlir::OwningOpRef<mlir::ModuleOp> importModel(const spec::ModelSpec &spec,
                                                const CompileOptions &options);

  /// Imports `spec` with `@forward` marked for `options` (its parsed mix, or
  /// elastic) and runs the front stage (specialize, verify nesting). Null
  /// on failure, after reporting why.
  mlir::OwningOpRef<mlir::ModuleOp>
  buildSpecializedModel(const spec::ModelSpec &spec,
                        const CompileOptions &options);

  /// Everything `matc compile` does: read and validate the spec, build the
  /// model, write `options.outputPath` (atomically). Returns success.
  bool compile(const CompileOptions &options);

private:
  mlir::MLIRContext context;
  llvm::raw_ostream &diagnostics;
  DiagnosticHandler diagnosticHandler;
};

} // namespace matc

#endif

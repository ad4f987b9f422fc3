//===- Compiler.cpp - matc as a library ------------------------------------===//
#include "matc/Codegen/Compiler.h"
#include "matc/Codegen/ImportSpec.h"
#include "matc/Codegen/Linker.h"
#include "matc/Codegen/ObjectEmitter.h"
#include "matc/Codegen/Pipeline.h"
#include "matc/Codegen/RuntimeAbi.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/FileIO.h"
#include "matc/spec/Mix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"

#include <mutex>

using namespace mlir;

std::optional<matc::EmitKind> matc::parseEmitKind(llvm::StringRef text) {
  return llvm::StringSwitch<std::optional<EmitKind>>(text)
      .Case("exe", EmitKind::Exe)
      .Case("lib", EmitKind::Lib)
      .Case("obj", EmitKind::Obj)
      .Case("mlir", EmitKind::Mlir)
      .Case("llvm", EmitKind::Llvm)
      .Case("ptx", EmitKind::Ptx)
      .Default(std::nullopt);
}

std::optional<matc::Target> matc::parseTarget(llvm::StringRef text) {
  return llvm::StringSwitch<std::optional<Target>>(text)
      .Case("cpu", Target::Cpu)
      .Case("cuda", Target::Cuda)
      .Default(std::nullopt);
}

void matc::registerMatcDialects(DialectRegistry &registry) {
  registry.insert<matformer::MatFormerDialect, arith::ArithDialect,
                  func::FuncDialect>();
}

void matc::registerMatcPasses() { registerMatFormerPasses(); }

/// Textual pipelines name upstream passes; register them once per process.
static void registerPipelinePasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    matc::registerMatcPasses();
  });
}

/// Prints spec-level diagnostics; returns true when there was no error.
static bool report(const matc::spec::Diagnostics &diags,
                   llvm::raw_ostream &os) {
  if (!diags.all().empty())
    os << diags.str();
  return !diags.hasErrors();
}

matc::Compiler::Compiler(llvm::raw_ostream &diagnostics)
    : diagnostics(diagnostics) {
  registerPipelinePasses();
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerMatcDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  // Diagnostics name the place; a dump of the whole module helps nobody.
  context.printOpOnDiagnostic(false);
}

matc::Compiler::~Compiler() = default;

OwningOpRef<ModuleOp>
matc::Compiler::importModel(const spec::ModelSpec &spec,
                            const CompileOptions &options) {
  ImportOptions importOptions;
  importOptions.bf16Weights = options.bf16Weights;
  importOptions.sourceName =
      options.specPath.empty() ? "spec" : options.specPath;
  return importModelSpec(context, spec, importOptions);
}

OwningOpRef<ModuleOp>
matc::Compiler::buildSpecializedModel(const spec::ModelSpec &spec,
                                      const CompileOptions &options) {
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagnostics);
  OwningOpRef<ModuleOp> module = importModel(spec, options);
  if (failed(verify(*module))) {
    diagnostics << "internal error: the importer built invalid IR for "
                << options.specPath << "\n";
    return nullptr;
  }
  PassManager pm(&context);
  MatFormerPipelineOptions pipeline;
  pipeline.mix = options.mix.value_or("");
  pipeline.elastic = options.elastic;
  buildMatFormerPipeline(pm, pipeline);
  if (failed(pm.run(*module)))
    return nullptr;
  return module;
}

/// Runs `build`'s passes on `module`, reporting failures through `handler`.
template <typename BuildFn>
static bool runPipeline(MLIRContext &context, ModuleOp module, BuildFn build) {
  PassManager pm(&context);
  if (failed(build(pm)))
    return false;
  return succeeded(pm.run(module));
}

static const char *emitKindName(matc::EmitKind kind) {
  switch (kind) {
  case matc::EmitKind::Exe:
    return "exe";
  case matc::EmitKind::Lib:
    return "lib";
  case matc::EmitKind::Obj:
    return "obj";
  case matc::EmitKind::Mlir:
    return "mlir";
  case matc::EmitKind::Llvm:
    return "llvm";
  case matc::EmitKind::Ptx:
    return "ptx";
  }
  return "?";
}

bool matc::Compiler::compile(const CompileOptions &options) {
  spec::Diagnostics specDiags(options.specPath);
  std::optional<spec::ModelSpec> spec =
      spec::loadModelSpec(options.specPath, specDiags);
  if (!report(specDiags, diagnostics) || !spec)
    return false;
  // A bad --mix is reported against the flag, not the spec file; warnings
  // about valid mixes come once, from specialization.
  if (options.mix) {
    spec::Diagnostics mixDiags("--mix");
    if (!spec::parseMix(*options.mix, *spec, mixDiags)) {
      for (const spec::Diagnostic &diag : mixDiags.all())
        if (diag.severity == spec::Diagnostic::Severity::Error)
          diagnostics << "error: " << diag.message << "\n";
      return false;
    }
  }

  if (options.target == Target::Cuda || options.emit == EmitKind::Ptx) {
    diagnostics << "error: the CUDA target is not implemented yet; use "
                   "--target cpu\n";
    return false;
  }
  if (options.emit == EmitKind::Lib || options.train) {
    diagnostics << "error: " << (options.train ? "--train" : "--emit lib")
                << " is not implemented yet\n";
    return false;
  }

  OwningOpRef<ModuleOp> module = buildSpecializedModel(*spec, options);
  if (!module)
    return false;

  auto writeOutput = [&](const std::string &bytes) {
    spec::Diagnostics writeDiags(options.outputPath);
    spec::writeFileAtomically(options.outputPath, bytes, writeDiags);
    return report(writeDiags, diagnostics);
  };
  if (options.emit == EmitKind::Mlir) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return writeOutput(text);
  }

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagnostics);
  if (!runPipeline(context, *module, [&](OpPassManager &pm) {
        buildBindRuntimePipeline(pm, options.elastic);
        return success();
      }))
    return false;
  FailureOr<ModelAbi> abi = readModelAbi(*module);
  if (failed(abi))
    return false;
  if (!runPipeline(context, *module, buildCpuLoweringPipeline) ||
      failed(addRuntimeEntry(*module, *abi, buildManifest(*abi, *spec))))
    return false;

  std::string code, error;
  bool emitLlvm = options.emit == EmitKind::Llvm;
  if (failed(emitHostCode(*module, options.optLevel, emitLlvm, code, error))) {
    diagnostics << "error: " << error << "\n";
    return false;
  }
  HostTarget host = detectHostTarget();
  auto summarize = [&] {
    diagnostics << "matc: " << options.specPath << " (mix " << abi->mix
                << ") -> " << options.outputPath << " [" << emitKindName(options.emit)
                << ", " << host.cpu << ", "
                << (host.hasAvx512 ? "AVX-512" : host.hasAvx2 ? "AVX2" : "SSE")
                << ", -O" << options.optLevel << "]\n";
  };
  if (options.emit != EmitKind::Exe) {
    if (!writeOutput(code))
      return false;
    summarize();
    return true;
  }

  llvm::SmallString<128> objectPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("matc-model", "o",
                                                              objectPath)) {
    diagnostics << "error: cannot create a temporary object file: "
                << ec.message() << "\n";
    return false;
  }
  spec::Diagnostics objectDiags(objectPath.str().str());
  bool linked = spec::writeFileAtomically(objectPath.str().str(), code, objectDiags) &&
                linkExecutable(objectPath.str().str(), options.outputPath,
                               defaultRuntimeDir(), error);
  llvm::sys::fs::remove(objectPath);
  if (!report(objectDiags, diagnostics))
    return false;
  if (!linked) {
    diagnostics << "error: " << error << "\n";
    return false;
  }
  summarize();
  return true;
}

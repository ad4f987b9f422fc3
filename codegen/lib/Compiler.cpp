//===- Compiler.cpp - matc as a library ------------------------------------===//
#include "matc/Codegen/Compiler.h"
#include "matc/Codegen/ImportSpec.h"
#include "matc/Codegen/Pipeline.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/FileIO.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/SourceMgr.h"

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

/// Prints spec-level diagnostics; returns true when there was no error.
static bool report(const matc::spec::Diagnostics &diags,
                   llvm::raw_ostream &os) {
  if (!diags.all().empty())
    os << diags.str();
  return !diags.hasErrors();
}

matc::Compiler::Compiler(llvm::raw_ostream &diagnostics)
    : diagnostics(diagnostics) {
  DialectRegistry registry;
  registerMatcDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
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

bool matc::Compiler::compile(const CompileOptions &options) {
  spec::Diagnostics specDiags(options.specPath);
  std::optional<spec::ModelSpec> spec =
      spec::loadModelSpec(options.specPath, specDiags);
  if (!report(specDiags, diagnostics) || !spec)
    return false;

  if (options.elastic) {
    diagnostics << "error: --elastic is not implemented yet; compile one "
                   "submodel with --mix\n";
    return false;
  }
  if (options.emit != EmitKind::Mlir) {
    diagnostics << "error: this build of matc emits only --emit mlir; "
                   "native code generation is not implemented yet\n";
    return false;
  }

  OwningOpRef<ModuleOp> module = buildSpecializedModel(*spec, options);
  if (!module)
    return false;

  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  spec::Diagnostics writeDiags(options.outputPath);
  spec::writeFileAtomically(options.outputPath, text, writeDiags);
  return report(writeDiags, diagnostics);
}

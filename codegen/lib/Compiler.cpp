//===- Compiler.cpp - matc as a library ------------------------------------===//
//
// `compile` reads top to bottom as the pipeline: parse the spec and the MIX
// (once), import, then the stages of Pipeline.h, then the back end, each
// timed when asked and each a place where `--emit` can stop.
//
//===----------------------------------------------------------------------===//
#include "matc/Codegen/Compiler.h"
#include "matc/Codegen/ImportSpec.h"
#include "matc/Codegen/Linker.h"
#include "matc/Codegen/Pipeline.h"
#include "matc/Codegen/RuntimeAbi.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/FileIO.h"
#include "matc/spec/Mix.h"
#include "CPU/CpuPipeline.h"
#include "CPU/HostObject.h"
#include "CUDA/CudaPipeline.h"
#include "CUDA/DeviceEntry.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"

#include <mutex>

namespace {
/// The CUDA buffer placement (codegen/CUDA/DeviceEntry.cpp) maps
/// matc_model_forward's buffers only, so a CUDA binary does not export
/// matc_model_loss yet: its `eval` computes the loss from the forward's
/// logits (runtime/lib/Evaluation.cpp).
void dropLossEntry(mlir::ModuleOp module, matc::ModelAbi &abi) {
  auto loss = llvm::find_if(abi.entries, [](const matc::EntryPoint &entry) {
    return entry.symbol == matc::abi::kLossSymbol;
  });
  if (loss == abi.entries.end())
    return;
  if (auto impl = module.lookupSymbol<mlir::func::FuncOp>(loss->implName))
    impl.erase();
  abi.entries.erase(loss);
}
} // namespace

using namespace mlir;

std::optional<matc::EmitKind> matc::parseEmitKind(llvm::StringRef text) {
  return llvm::StringSwitch<std::optional<EmitKind>>(text)
      .Case("exe", EmitKind::Exe)
      .Case("lib", EmitKind::Lib)
      .Case("obj", EmitKind::Obj)
      .Case("mlir", EmitKind::Mlir)
      .Case("linalg", EmitKind::Linalg)
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

std::string matc::checkTargetOptions(const CompileOptions &options) {
  if (options.target != Target::Cuda) {
    if (options.emit == EmitKind::Ptx)
      return "--emit ptx needs --target cuda";
    if (options.cudaEmulateOnCpu)
      return "--cuda-emulate-on-cpu needs --target cuda";
    if (options.cudaTensorCores)
      return "--cuda-tensor-cores needs --target cuda";
    return "";
  }
  if (options.cudaEmulateOnCpu && options.emit == EmitKind::Ptx)
    return "--cuda-emulate-on-cpu builds a CPU program; it has no PTX";
  if (options.cudaEmulateOnCpu && options.cudaTensorCores)
    return "--cuda-tensor-cores cannot be emulated on the CPU";
  std::string error;
  if (!cuda::CudaTarget::named(options.cudaArch, error))
    return "--cuda-arch: " + error;
  if (options.emit == EmitKind::Lib)
    return "--emit lib is not supported with --target cuda (use exe, obj, "
           "ptx, llvm, linalg or mlir)";
  if (options.train)
    return "--train is not supported with --target cuda";
  return "";
}

void matc::registerMatcDialects(DialectRegistry &registry) {
  registry.insert<matformer::MatFormerDialect, arith::ArithDialect,
                  func::FuncDialect>();
  // gpu-module-to-binary translates kernels to LLVM IR in process, and the
  // CUDA build's host module holds gpu.binary and gpu.launch_func.
  cuda::registerCudaTranslations(registry);
}

void matc::registerMatcPasses() { registerMatcPassesAndPipelines(); }

/// Textual pipelines name upstream passes; register them once per process.
static void registerPipelinePasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    matc::registerMatcPasses();
  });
}

/// Prints spec-level diagnostics, or hands them to `handler` when there is
/// one; returns true when there was no error.
static bool report(const matc::spec::Diagnostics &diags,
                   llvm::raw_ostream &os,
                   const matc::Compiler::DiagnosticHandler &handler = {}) {
  if (handler)
    for (const matc::spec::Diagnostic &diag : diags.all())
      handler(diag);
  else if (!diags.all().empty())
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

/// The MIX to compile: `--mix`, else the spec's `matformer.mix`, else XL.
/// Parsed here, once; passes only ever see the resulting attribute. Errors
/// name the flag or the spec field the text came from.
static std::optional<matc::spec::Mix>
resolveMix(const matc::spec::ModelSpec &spec,
           const matc::CompileOptions &options, llvm::raw_ostream &os,
           const matc::Compiler::DiagnosticHandler &handler = {}) {
  std::string text = options.mix.value_or(spec.defaultMix);
  std::string source = options.mix ? "--mix" : options.specPath;
  if (text.empty())
    text = "XL";
  matc::spec::Diagnostics diags(source);
  std::optional<matc::spec::Mix> mix = matc::spec::parseMix(text, spec, diags);
  for (matc::spec::Diagnostic diag : diags.all()) {
    if (handler) {
      if (!options.mix) {
        diag.where = diag.where.empty() ? "matformer.mix"
                                        : "matformer.mix: " + diag.where;
        diag.message = "matformer.mix: " + diag.message;
      }
      handler(diag);
      continue;
    }
    os << (diag.severity == matc::spec::Diagnostic::Severity::Error
               ? "error: "
               : "warning: ")
       << (options.mix ? "" : "matformer.mix: ") << diag.message << "\n";
  }
  return mix;
}

/// Marks `@forward` as the submodel to build: its mix, or elastic.
static void markForward(ModuleOp module, const matc::spec::Mix *mix) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  MLIRContext *context = module.getContext();
  if (!mix) {
    forward->setAttr(matc::matformer::kElasticAttrName, UnitAttr::get(context));
    return;
  }
  SmallVector<int64_t> layers;
  for (const matc::spec::LayerChoice &choice : *mix)
    layers.push_back(choice.skip ? matc::matformer::MixAttr::kSkip
                                 : choice.width);
  forward->setAttr(matc::matformer::kMixAttrName,
                   matc::matformer::MixAttr::get(context, layers));
}

namespace {
/// One pass manager per stage, with the driver's IR printing and timing.
struct StageRunner {
  MLIRContext &context;
  const matc::CompileOptions &options;
  TimingScope &root;
  llvm::raw_ostream &os;

  template <typename BuildFn>
  bool run(ModuleOp module, llvm::StringRef name, BuildFn build) {
    TimingScope stage = root.nest(name);
    PassManager pm(&context);
    build(pm);
    if (options.printIrAfterAll) {
      context.disableMultithreading();
      pm.enableIRPrinting(
          /*shouldPrintBeforePass=*/nullptr,
          /*shouldPrintAfterPass=*/[](Pass *, Operation *) { return true; },
          /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false,
          /*printAfterOnlyOnFailure=*/false, os);
    }
    if (options.mlirTiming)
      pm.enableTiming(stage);
    return succeeded(pm.run(module));
  }
};
} // namespace

/// Import with `@forward` marked, then the front stage.
static OwningOpRef<ModuleOp>
importAndSpecialize(matc::Compiler &compiler, const matc::spec::ModelSpec &spec,
                    const matc::CompileOptions &options,
                    const std::optional<matc::spec::Mix> &mix,
                    StageRunner &stages, llvm::raw_ostream &os) {
  OwningOpRef<ModuleOp> module;
  {
    TimingScope importTimer = stages.root.nest("import");
    module = compiler.importModel(spec, options);
    markForward(*module, mix ? &*mix : nullptr);
    if (options.train) {
      // One loss per granularity, specialized by the front stage below.
      PassManager pm(module->getContext());
      matc::AddTrainingLossesOptions losses;
      losses.granularities.assign(spec.granularities.begin(),
                                  spec.granularities.end());
      pm.addPass(matc::createAddTrainingLosses(losses));
      if (failed(pm.run(*module)))
        return nullptr;
    }
    if (failed(verify(*module))) {
      os << "internal error: the importer built invalid IR for "
         << options.specPath << "\n";
      return nullptr;
    }
  }
  if (!stages.run(*module, "front", matc::buildFrontPipeline))
    return nullptr;
  return module;
}

OwningOpRef<ModuleOp>
matc::Compiler::buildSpecializedModel(const spec::ModelSpec &spec,
                                      const CompileOptions &options) {
  std::optional<spec::Mix> mix;
  if (!options.elastic) {
    mix = resolveMix(spec, options, diagnostics, diagnosticHandler);
    if (!mix)
      return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagnostics);
  DefaultTimingManager timing;
  TimingScope root = timing.getRootScope();
  StageRunner stages{context, options, root, diagnostics};
  return importAndSpecialize(*this, spec, options, mix, stages, diagnostics);
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
  case matc::EmitKind::Linalg:
    return "linalg";
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
      options.specText ? spec::parseModelSpec(*options.specText, specDiags)
                       : spec::loadModelSpec(options.specPath, specDiags);
  if (!report(specDiags, diagnostics, diagnosticHandler) || !spec)
    return false;
  std::optional<spec::Mix> mix;
  if (!options.elastic) {
    mix = resolveMix(*spec, options, diagnostics, diagnosticHandler);
    if (!mix)
      return false;
  }
  if (std::string error = checkTargetOptions(options); !error.empty()) {
    diagnostics << "error: " << error << "\n";
    return false;
  }
  if (options.train && options.bf16Weights) {
    diagnostics << "error: --train needs f32 weights, got --dtype bf16 "
                   "(AdamW updates the weights in place)\n";
    return false;
  }
  if (options.train && spec->granularities.empty()) {
    diagnostics << "error: --train: " << options.specPath
                << " has no matformer.granularities to train at\n";
    return false;
  }
  // The CUDA build's host code runs on this machine's CPU, or --cpu's.
  cpu::CpuTarget target = cpu::CpuTarget::host();
  if (!options.cpu.empty()) {
    std::string error;
    std::optional<cpu::CpuTarget> named = cpu::CpuTarget::named(options.cpu, error);
    if (!named) {
      diagnostics << "error: --cpu: " << error << "\n";
      return false;
    }
    target = *named;
  }

  DefaultTimingManager timing;
  timing.setEnabled(options.timing || options.mlirTiming);
  timing.setOutput(createOutputStrategy(
      DefaultTimingManager::OutputFormat::Text, diagnostics));
  TimingScope root = timing.getRootScope();
  StageRunner stages{context, options, root, diagnostics};
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagnostics);

  OwningOpRef<ModuleOp> module =
      importAndSpecialize(*this, *spec, options, mix, stages, diagnostics);
  if (!module)
    return false;
  auto writeOutput = [&](const std::string &bytes) {
    spec::Diagnostics writeDiags(options.outputPath);
    spec::writeFileAtomically(options.outputPath, bytes, writeDiags);
    return report(writeDiags, diagnostics, diagnosticHandler);
  };
  auto writeModule = [&] {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    os << "\n";
    return writeOutput(text);
  };

  if (options.emit == EmitKind::Mlir)
    return writeModule();
  if (!stages.run(*module, "bind-abi", buildBindAbiPipeline))
    return false;
  FailureOr<ModelAbi> abi = readModelAbi(*module);
  if (failed(abi))
    return false;
  if (options.target == Target::Cuda)
    dropLossEntry(*module, *abi);
  if (!stages.run(*module, "to-linalg", buildLinalgPipeline))
    return false;
  if (options.emit == EmitKind::Linalg)
    return writeModule();

  std::optional<cuda::CudaTarget> gpu;
  if (options.target == Target::Cuda && options.cudaEmulateOnCpu) {
    std::string error;
    std::optional<cuda::CudaTarget> kernels =
        cuda::CudaTarget::named(options.cudaArch, error);
    if (!stages.run(*module, "cuda-emulation", [&](OpPassManager &pm) {
          cuda::buildCudaEmulationPipeline(pm, *kernels);
        }))
      return false;
    if (failed(addRuntimeEntry(*module, *abi, buildManifest(*abi, *spec))))
      return false;
  } else if (options.target == Target::Cuda) {
    std::string error;
    gpu = cuda::CudaTarget::named(options.cudaArch, error);
    bool ptx = options.emit == EmitKind::Ptx;
    gpu->tensorCores = options.cudaTensorCores;
    gpu->toolkitPath = cuda::findCudaToolkit();
    if (gpu->toolkitPath.empty()) {
      diagnostics << "error: --target cuda needs the CUDA toolkit (libdevice, "
                     "ptxas): none in $CUDA_HOME, $CUDA_PATH, $CUDA_ROOT, on "
                     "PATH or in /usr/local/cuda\n";
      return false;
    }
    if (!stages.run(*module, "cuda-backend", [&](OpPassManager &pm) {
          cuda::buildCudaBackendPipeline(pm, *gpu,
                                         ptx ? cuda::BinaryFormat::Ptx
                                             : cuda::BinaryFormat::Fatbin);
        }))
      return false;
    if (ptx) {
      std::string text;
      if (failed(cuda::kernelPtx(*module, text, error))) {
        diagnostics << "error: " << error << "\n";
        return false;
      }
      if (!writeOutput(text))
        return false;
      diagnostics << "matc: " << options.specPath << " (mix " << abi->mix
                  << ") -> " << options.outputPath << " [ptx, " << gpu->arch
                  << " (" << gpu->chip << ")]\n";
      return true;
    }
    std::unique_ptr<BufferPlacement> placement =
        cuda::createDevicePlacement(*module, *abi);
    if (failed(addRuntimeEntry(*module, *abi, buildManifest(*abi, *spec),
                               placement.get())))
      return false;
  } else {
    cpu::KernelConfig kernels = cpu::chooseKernelConfig(target);
    if (options.attentionTile > 0)
      kernels.attentionPositionTile = options.attentionTile;
    if (!stages.run(*module, "cpu-backend", [&](OpPassManager &pm) {
          cpu::buildCpuBackendPipeline(pm, kernels);
        }))
      return false;
    if (failed(addRuntimeEntry(*module, *abi, buildManifest(*abi, *spec))))
      return false;
  }

  std::string code, error;
  {
    TimingScope llvmTimer = root.nest("llvm");
    if (failed(cpu::emitCpuCode(*module, target, options.optLevel,
                                options.emit == EmitKind::Llvm, code, error,
                                &llvmTimer))) {
      diagnostics << "error: " << error << "\n";
      return false;
    }
  }
  auto summarize = [&] {
    diagnostics << "matc: " << options.specPath << " (mix " << abi->mix
                << ") -> " << options.outputPath << " ["
                << emitKindName(options.emit) << ", ";
    if (gpu)
      diagnostics << gpu->arch << " kernels (" << gpu->chip << "), host ";
    diagnostics << target.cpu << ", " << target.isaName() << ", -O"
                << options.optLevel << "]\n";
  };
  bool link = options.emit == EmitKind::Exe || options.emit == EmitKind::Lib;
  if (!link) {
    if (!writeOutput(code))
      return false;
    summarize();
    return true;
  }

  TimingScope linkTimer = root.nest("link");
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
                               defaultRuntimeDir(), error,
                               options.emit == EmitKind::Lib,
                               /*cuda=*/gpu.has_value());
  llvm::sys::fs::remove(objectPath);
  linkTimer.stop();
  if (!report(objectDiags, diagnostics, diagnosticHandler))
    return false;
  if (!linked) {
    diagnostics << "error: " << error << "\n";
    return false;
  }
  summarize();
  return true;
}

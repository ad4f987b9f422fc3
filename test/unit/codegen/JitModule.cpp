//===- JitModule.cpp - run generated code in a test -----------------------===//
#include "JitModule.h"

#include "CPU/CpuPipeline.h"
#include "matc/Codegen/Compiler.h"
#include "matc/Codegen/Pipeline.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::unique_ptr<matc::test::JitModule>
matc::test::JitModule::compile(const std::string &source, std::string &error) {
  return compile(source, error,
                 matc::cpu::chooseKernelConfig(matc::cpu::CpuTarget::host()));
}

std::unique_ptr<matc::test::JitModule>
matc::test::JitModule::compile(const std::string &source, std::string &error,
                               const matc::cpu::KernelConfig &config) {
  // The stage pipelines name upstream passes textually: register them once.
  static const bool registered = [] {
    registerAllPasses();
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)registered;
  auto jit = std::unique_ptr<JitModule>(new JitModule());
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  matc::registerMatcDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  jit->context.appendDialectRegistry(registry);

  llvm::raw_string_ostream diagnostics(error);
  ScopedDiagnosticHandler handler(&jit->context, [&](Diagnostic &diagnostic) {
    diagnostics << diagnostic.getLocation() << ": " << diagnostic << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(source, &jit->context);
  if (!module)
    return nullptr;
  PassManager pm(&jit->context);
  matc::buildLinalgPipeline(pm);
  matc::cpu::buildCpuBackendPipeline(pm, config);
  if (failed(pm.run(*module)))
    return nullptr;

  ExecutionEngineOptions options;
  // A function_ref that the engine may call while it compiles lazily: the
  // function lives as long as the engine.
  jit->optimize = makeOptimizingTransformer(/*optLevel=*/2, /*sizeLevel=*/0,
                                            /*targetMachine=*/nullptr);
  options.transformer = jit->optimize;
  llvm::StringRef libraries[] = {MATC_OPENMP_LIBRARY};
  options.sharedLibPaths = libraries;
  auto engine = ExecutionEngine::create(*module, options);
  if (!engine) {
    diagnostics << llvm::toString(engine.takeError()) << "\n";
    return nullptr;
  }
  jit->engine = std::move(*engine);
  return jit;
}

void *matc::test::JitModule::lookup(const std::string &name) const {
  auto address = engine->lookup("_mlir_ciface_" + name);
  if (!address) {
    llvm::consumeError(address.takeError());
    return nullptr;
  }
  return *address;
}

matc::test::Buffer3d::Buffer3d(int64_t d0, int64_t d1, int64_t d2)
    : sizes{d0, d1, d2}, data(static_cast<size_t>(d0 * d1 * d2), 0.0f) {}

StridedMemRefType<float, 3> *matc::test::Buffer3d::descriptor() {
  memref.basePtr = memref.data = data.data();
  memref.offset = 0;
  for (int i = 0; i < 3; ++i)
    memref.sizes[i] = sizes[i];
  memref.strides[2] = 1;
  memref.strides[1] = sizes[2];
  memref.strides[0] = sizes[1] * sizes[2];
  return &memref;
}

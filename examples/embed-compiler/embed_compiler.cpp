//===- embed_compiler.cpp - matc as a library in another program ----------===//
//
// Compiles a spec for several Mix'n'Match choices in one process through the
// C++ API (matc/Codegen/Compiler.h), and prints each layer's FFN width from
// the specialized IR: what a tool that sweeps submodels would do.
//
//   matc-embed-example SPEC MIX [MIX ...]
//
//===----------------------------------------------------------------------===//
#include "matc/Codegen/Compiler.h"
#include "matc/Dialect/MatFormer.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"

#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    llvm::errs() << "usage: " << argv[0] << " SPEC MIX [MIX ...]\n";
    return 2;
  }
  matc::spec::Diagnostics diags(argv[1]);
  std::optional<matc::spec::ModelSpec> spec =
      matc::spec::loadModelSpec(argv[1], diags);
  if (!spec) {
    llvm::errs() << diags.str();
    return 1;
  }

  // One compiler (one MLIRContext) serves every compile.
  matc::Compiler compiler(llvm::errs());
  for (int i = 2; i < argc; ++i) {
    matc::CompileOptions options;
    options.specPath = argv[1];
    options.mix = argv[i];
    mlir::OwningOpRef<mlir::ModuleOp> module =
        compiler.buildSpecializedModel(*spec, options);
    if (!module)
      return 1;
    llvm::outs() << "mix " << argv[i] << ":";
    module->walk([&](matc::matformer::DecoderLayerOp layer) {
      llvm::outs() << " layer " << layer.getIndex() << "=";
      bool hasFfn = false;
      layer.getBody().walk([&](matc::matformer::NestedFfnOp ffn) {
        llvm::outs() << *ffn.getStaticWidth();
        hasFfn = true;
      });
      if (!hasFfn)
        llvm::outs() << "0";
    });
    llvm::outs() << "\n";
  }
  return 0;
}

//===- RuntimeAbi.h - what a compiled model exports to matrt ----*- C++ -*-===//
//
// A compiled model exports `matc_model_forward` (a C entry over plain
// pointers) and `matc_model_manifest` (JSON: the spec, the mix, the weight
// order, the KV-cache shape). runtime/include/matrt/ModelAbi.h is the
// runtime's side of the same contract.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_CODEGEN_RUNTIMEABI_H
#define MATC_CODEGEN_RUNTIMEABI_H

#include "matc/spec/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace matc {

struct AbiWeight {
  std::string name;
  std::vector<int64_t> shape;
};

/// The entry point's shape, read after `matformer-bind-runtime-abi`.
struct ModelAbi {
  std::vector<AbiWeight> weights; // in argument order
  int64_t cacheLayers = 0, maxPositions = 0, kvHeads = 0, headDim = 0;
  int64_t vocabSize = 0;
  bool bf16Weights = false;
  /// Widths are chosen per call (`--elastic`).
  bool elastic = false;
  /// Canonical MIX text of a specialized model (spec::formatMix), or
  /// "elastic".
  std::string mix;
};

/// Reads the ABI of a module that went through `matformer-bind-runtime-abi`.
mlir::FailureOr<ModelAbi> readModelAbi(mlir::ModuleOp module);

/// The manifest JSON the runtime reads.
std::string buildManifest(const ModelAbi &abi, const spec::ModelSpec &spec);

/// Adds `matc_model_forward` and `matc_model_manifest` to a module already in
/// the LLVM dialect.
mlir::LogicalResult addRuntimeEntry(mlir::ModuleOp module, const ModelAbi &abi,
                                    const std::string &manifest);

} // namespace matc

#endif

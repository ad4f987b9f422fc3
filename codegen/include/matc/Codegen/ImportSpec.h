//===- ImportSpec.h - model spec -> matformer IR ----------------*- C++ -*-===//
#ifndef MATC_CODEGEN_IMPORTSPEC_H
#define MATC_CODEGEN_IMPORTSPEC_H

#include "matc/spec/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace matc {

struct ImportOptions {
  /// Element type of the weights as the checkpoint stores them; activations
  /// and accumulation are f32 either way.
  bool bf16Weights = false;
  /// Names the spec in IR locations, usually its file path.
  std::string sourceName = "spec";
};

/// Builds the universal model: one `decoder_layer` per layer, every
/// `nested_ffn` without a width yet, weights as `matformer.weight` symbols
/// named by their checkpoint tensor names, and `func.func @forward` mapping
/// token ids to logits.
mlir::OwningOpRef<mlir::ModuleOp> importModelSpec(mlir::MLIRContext &context,
                                                  const spec::ModelSpec &spec,
                                                  const ImportOptions &options);

} // namespace matc

#endif

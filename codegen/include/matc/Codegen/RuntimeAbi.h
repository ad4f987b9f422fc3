//===- RuntimeAbi.h - what a compiled model exports to matrt ----*- C++ -*-===//
//
// A compiled model exports the entry point and the manifest declared in
// matc/abi/ModelAbi.h, the one description of the ABI that the compiler and
// the runtime share. This file reads the entry's shape off the IR that
// `matformer-bind-runtime-abi` produced, writes the manifest, and wraps the
// lowered entry in the C function the runtime calls.
//
//===----------------------------------------------------------------------===//
#ifndef MATC_CODEGEN_RUNTIMEABI_H
#define MATC_CODEGEN_RUNTIMEABI_H

#include "matc/abi/ModelAbi.h"
#include "matc/spec/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace matc {

/// One argument of an entry before lowering: an index scalar, a runtime
/// buffer (named as in the entry's abi::Arg table) or one tensor of a table
/// (named by its checkpoint tensor; `table` says which: weights, grads, ...).
struct AbiArgument {
  enum class Kind { Index, Buffer, Weight } kind = Kind::Index;
  std::string name;
  std::string dtype; // "i32", "f32", "i64", "bf16"; empty for an index
  std::vector<int64_t> shape;
  std::string table; // for a Weight: the abi::Arg table it belongs to
};

/// One exported C function: the symbol, its C signature (a table of
/// matc/abi/ModelAbi.h), and the arguments of the generated function
/// (`implName`) that it unpacks its pointers into.
struct EntryPoint {
  std::string implName;
  std::string symbol;
  llvm::ArrayRef<abi::Arg> signature;
  std::vector<AbiArgument> arguments;
};

/// The entry points' shapes, read after `matformer-bind-runtime-abi` (and,
/// with --train, `matformer-bind-training-abi`).
struct ModelAbi {
  std::vector<AbiArgument> arguments; // matc_model_forward's, in order
  /// Every exported function, matc_model_forward first.
  std::vector<EntryPoint> entries;
  /// The training entry points are there (`--train`).
  bool train = false;
  int64_t vocabSize = 0, maxPositions = 0;
  bool bf16Weights = false;
  /// Widths are chosen per call (`--elastic`).
  bool elastic = false;
  /// Canonical MIX text of a specialized model (spec::formatMix), or
  /// "elastic".
  std::string mix;

  const AbiArgument *buffer(llvm::StringRef name) const;
};

/// Reads the ABI of a module that went through `matformer-bind-runtime-abi`.
mlir::FailureOr<ModelAbi> readModelAbi(mlir::ModuleOp module);

/// The manifest JSON the runtime reads (matc/abi/ModelAbi.h, version 3).
std::string buildManifest(const ModelAbi &abi, const spec::ModelSpec &spec);

/// Where the entry's buffers live for the lowered code. Without one (the
/// CPU), `matc_forward_impl` gets the runtime's pointers as they are; a
/// device back end (codegen/CUDA/DeviceEntry.cpp) hands it device copies.
/// Each hook emits LLVM dialect at the builder's insertion point; `entry`
/// is the entry's block, whose arguments are abi::kForwardArgs.
class BufferPlacement {
public:
  virtual ~BufferPlacement() = default;
  /// Before anything else in the entry.
  virtual void begin(mlir::OpBuilder &b, mlir::Location loc,
                     mlir::Block *entry) = 0;
  /// The pointer the lowered code gets for `argument` (a buffer or a
  /// weight), whose runtime pointer is `pointer`.
  virtual mlir::Value place(mlir::OpBuilder &b, mlir::Location loc,
                            const AbiArgument &argument, mlir::Value pointer,
                            mlir::Block *entry) = 0;
  /// After the lowered code returned.
  virtual void end(mlir::OpBuilder &b, mlir::Location loc,
                   mlir::Block *entry) = 0;
};

/// Adds the entry points and the manifest symbol to a module already in the
/// LLVM dialect: each entry unpacks its plain pointers into the memref
/// descriptors its lowered implementation (`matc_forward_impl`, ...) takes,
/// through `placement` when there is one (then matc_model_forward must be
/// the only entry).
mlir::LogicalResult addRuntimeEntry(mlir::ModuleOp module, const ModelAbi &abi,
                                    const std::string &manifest,
                                    BufferPlacement *placement = nullptr);

} // namespace matc

#endif

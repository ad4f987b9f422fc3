//===- MatFormer.h - the matformer dialect ----------------------*- C++ -*-===//
#ifndef MATC_DIALECT_MATFORMER_H
#define MATC_DIALECT_MATFORMER_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "matc/Dialect/MatFormerOpsDialect.h.inc"
#include "matc/Dialect/MatFormerEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "matc/Dialect/MatFormerAttrs.h.inc"

#define GET_OP_CLASSES
#include "matc/Dialect/MatFormerOps.h.inc"

namespace matc::matformer {
/// Function attribute: the Mix'n'Match choice (a MixAttr) the function
/// computes, or is to be specialized for by `matformer-specialize-mix`.
constexpr llvm::StringLiteral kMixAttrName = "matformer.mix";
/// Function attribute (unit): widths are run-time values (`--elastic`).
constexpr llvm::StringLiteral kElasticAttrName = "matformer.elastic";
/// Module attribute: the longest sequence (max_position_embeddings).
constexpr llvm::StringLiteral kMaxPositionsAttrName = "matformer.max_positions";
/// Function argument attribute: the checkpoint tensor an argument binds.
constexpr llvm::StringLiteral kWeightAttrName = "matformer.weight";
/// Function argument attribute: the runtime buffer or scalar an entry-point
/// argument is (a name from matc/abi/ModelAbi.h).
constexpr llvm::StringLiteral kAbiArgAttrName = "matformer.abi_arg";

/// Function attribute (unit): `matformer-reverse-mode` is to differentiate
/// this loss function with respect to its weight arguments.
constexpr llvm::StringLiteral kDifferentiateAttrName = "matformer.differentiate";
/// Function attribute (unit): the function returns its loss, then the
/// gradient of each weight argument in argument order.
constexpr llvm::StringLiteral kGradientsAttrName = "matformer.gradients";
/// Function attribute (i64): the granularity (index into the spec's
/// matformer.granularities) a training loss function computes.
constexpr llvm::StringLiteral kGranularityAttrName = "matformer.granularity";

/// The checkpoint tensor name of a function argument, or null.
mlir::StringAttr getWeightName(mlir::Value value);
} // namespace matc::matformer

#endif

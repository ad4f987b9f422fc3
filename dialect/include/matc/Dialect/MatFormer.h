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
/// Module attribute recording the Mix'n'Match choice a module was specialized for.
constexpr llvm::StringLiteral kMixAttrName = "matformer.mix";
/// Module attribute holding the spec's default MIX text (`matformer.mix` in the spec).
constexpr llvm::StringLiteral kDefaultMixAttrName = "matformer.default_mix";
/// Module attribute: the longest sequence (max_position_embeddings).
constexpr llvm::StringLiteral kMaxPositionsAttrName = "matformer.max_positions";
} // namespace matc::matformer

#endif

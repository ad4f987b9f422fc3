//===- MatFormerDialect.cpp - dialect registration -------------------------===//
#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace matc::matformer;

#include "matc/Dialect/MatFormerOpsDialect.cpp.inc"

void MatFormerDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "matc/Dialect/MatFormerOps.cpp.inc"
      >();
}

//===- MatFormerDialect.cpp - dialect registration -------------------------===//
#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
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

StringAttr matc::matformer::getWeightName(Value value) {
  auto arg = dyn_cast<BlockArgument>(value);
  if (!arg)
    return nullptr;
  auto function =
      dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  if (!function || arg.getOwner() != &function.getFunctionBody().front())
    return nullptr;
  return function.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                               kWeightAttrName);
}

LogicalResult
MatFormerDialect::verifyOperationAttribute(Operation *op,
                                           NamedAttribute attribute) {
  StringRef name = attribute.getName().strref();
  Attribute value = attribute.getValue();
  if (name == kMixAttrName) {
    if (!isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << name
                             << "' belongs on a function (the submodel it "
                                "computes), not on '"
                             << op->getName() << "'";
    if (!isa<MixAttr>(value))
      return op->emitError() << "'" << name
                             << "' must be a #matformer.mix<[...]>, got "
                             << value;
    return success();
  }
  if (name == kDifferentiateAttrName || name == kGradientsAttrName) {
    if (!isa<FunctionOpInterface>(op) || !isa<UnitAttr>(value))
      return op->emitError() << "'" << name
                             << "' must be a unit attribute on a function";
    return success();
  }
  if (name == kGranularityAttrName) {
    auto index = dyn_cast<IntegerAttr>(value);
    if (!isa<FunctionOpInterface>(op) || !index || index.getInt() < 0)
      return op->emitError() << "'" << name
                             << "' must be a non-negative integer on a "
                                "function";
    return success();
  }
  if (name == kElasticAttrName) {
    if (!isa<FunctionOpInterface>(op) || !isa<UnitAttr>(value))
      return op->emitError() << "'" << name
                             << "' must be a unit attribute on a function";
    return success();
  }
  if (name == kMaxPositionsAttrName) {
    auto positions = dyn_cast<IntegerAttr>(value);
    if (!isa<ModuleOp>(op) || !positions || positions.getInt() <= 0)
      return op->emitError() << "'" << name
                             << "' must be a positive integer on a module";
    return success();
  }
  return op->emitError() << "unknown matformer attribute '" << name << "'";
}

LogicalResult MatFormerDialect::verifyRegionArgAttribute(
    Operation *op, unsigned regionIndex, unsigned argIndex,
    NamedAttribute attribute) {
  StringRef name = attribute.getName().strref();
  auto function = dyn_cast<FunctionOpInterface>(op);
  if (!function || regionIndex != 0)
    return op->emitError() << "'" << name
                           << "' belongs on a function argument";
  Type type = function.getArgumentTypes()[argIndex];
  if (name == kWeightAttrName) {
    auto tensorName = dyn_cast<StringAttr>(attribute.getValue());
    if (!tensorName || tensorName.empty())
      return op->emitError() << "argument " << argIndex << ": '" << name
                             << "' must name a checkpoint tensor";
    if (!isa<RankedTensorType, MemRefType>(type))
      return op->emitError() << "argument " << argIndex << " ('"
                             << tensorName.getValue()
                             << "') is a weight, so it must be a ranked "
                                "tensor or a memref, got "
                             << type;
    return success();
  }
  if (name == kAbiArgAttrName) {
    if (!isa<StringAttr>(attribute.getValue()))
      return op->emitError() << "argument " << argIndex << ": '" << name
                             << "' must be a string";
    return success();
  }
  return op->emitError() << "unknown matformer argument attribute '" << name
                         << "'";
}

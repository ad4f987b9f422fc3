//===- MatFormerAttrs.cpp - granularities, Mix'n'Match choices -------------===//
#include "matc/Dialect/MatFormer.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace matc::matformer;

#include "matc/Dialect/MatFormerEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "matc/Dialect/MatFormerAttrs.cpp.inc"

void MatFormerDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "matc/Dialect/MatFormerAttrs.cpp.inc"
      >();
}

LogicalResult
GranularitiesAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          ArrayRef<int64_t> widths) {
  if (widths.empty())
    return emitError() << "granularities must list at least one width";
  for (auto [i, width] : llvm::enumerate(widths)) {
    if (width <= 0)
      return emitError() << "granularity " << i << " is " << width
                         << ", expected a positive width";
    if (i > 0 && width <= widths[i - 1])
      return emitError() << "granularity " << i << " is " << width
                         << ", expected it to be greater than "
                         << widths[i - 1] << " (strictly increasing)";
  }
  return success();
}

bool GranularitiesAttr::contains(int64_t width) const {
  return llvm::is_contained(getWidths(), width);
}

LogicalResult MixAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                              ArrayRef<int64_t> layers) {
  for (auto [i, width] : llvm::enumerate(layers))
    if (width < 0 && width != kSkip)
      return emitError() << "mix entry " << i << " is " << width
                         << ", expected a width >= 0 or skip";
  return success();
}

// #matformer.mix<[64, 0, skip]>: `skip` reads better than a sentinel number.
Attribute MixAttr::parse(AsmParser &parser, Type) {
  SmallVector<int64_t> layers;
  auto parseEntry = [&]() -> ParseResult {
    if (succeeded(parser.parseOptionalKeyword("skip"))) {
      layers.push_back(kSkip);
      return success();
    }
    int64_t width;
    if (parser.parseInteger(width))
      return failure();
    layers.push_back(width);
    return success();
  };
  if (parser.parseLess() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     parseEntry, " in a Mix'n'Match list") ||
      parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), layers);
}

void MixAttr::print(AsmPrinter &printer) const {
  printer << "<[";
  llvm::interleaveComma(getLayers(), printer, [&](int64_t width) {
    if (width == kSkip)
      printer << "skip";
    else
      printer << width;
  });
  printer << "]>";
}

//===- WeightsToArguments.cpp - checkpoint tensors as function arguments --===//
//
// After this pass a function is self-contained: everything it reads from the
// checkpoint arrives as an argument tagged with the tensor's name, so the
// same function body can serve several callers (an entry point, a training
// step) and the runtime ABI can pass weights as plain buffers.
//
//===----------------------------------------------------------------------===//
#include "matc/Dialect/MatFormer.h"
#include "matc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"

namespace matc {
#define GEN_PASS_DEF_WEIGHTSTOARGUMENTS
#include "matc/Passes/Passes.h.inc"
} // namespace matc

using namespace mlir;
using namespace matc::matformer;

namespace {

struct WeightsToArgumentsPass
    : matc::impl::WeightsToArgumentsBase<WeightsToArgumentsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (func::FuncOp function : module.getOps<func::FuncOp>()) {
      if (function.isExternal())
        continue;
      // First-use order, so arguments follow the order the model reads them.
      llvm::MapVector<StringAttr, SmallVector<GetWeightOp>> reads;
      function.walk([&](GetWeightOp read) {
        reads[read.getNameAttr().getAttr()].push_back(read);
      });
      if (reads.empty())
        continue;
      if (!function.isPrivate() && !function.symbolKnownUseEmpty(module)) {
        function.emitOpError()
            << "is called, so its weights cannot become arguments";
        return signalPassFailure();
      }
      Block &entry = function.getBody().front();
      for (auto &[name, users] : reads) {
        unsigned index = function.getNumArguments();
        Type type = users.front().getType();
        if (failed(function.insertArgument(
                index, type,
                DictionaryAttr::get(
                    &getContext(),
                    {NamedAttribute(StringAttr::get(&getContext(),
                                                    kWeightAttrName),
                                    name)}),
                users.front().getLoc())))
          return signalPassFailure();
        for (GetWeightOp read : users) {
          read.replaceAllUsesWith(entry.getArgument(index));
          read.erase();
        }
      }
    }
    bool stillRead = false;
    module.walk([&](GetWeightOp read) {
      read.emitOpError() << "reads a weight outside a function body";
      stillRead = true;
    });
    if (stillRead)
      return signalPassFailure();
    for (WeightOp weight :
         llvm::make_early_inc_range(module.getOps<WeightOp>()))
      weight.erase();
  }
};

} // namespace

//===- matc-opt.cpp - mlir-opt with the matformer dialect and passes ------===//
#include "matc/Codegen/Compiler.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  matc::registerMatcPasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  matc::registerMatcDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "matc optimizer driver: MLIR plus the matformer dialect\n",
      registry));
}

// The only file that names the symbols of the generated model object. Keeping
// them here lets every other part of matrt link into unit tests, which
// supply a toy model instead.

#include "OptionalEntryPoints.h"

#include "matrt/CommandLine.h"
#include "matrt/ModelAbi.h"

namespace matrt {

int runCompiledModel(int argc, char **argv) {
  CompiledModel model;
  model.manifestText = matc_model_manifest;
  model.forward = matc_model_forward;
  linkOptionalEntryPoints(model);
  return runCommandLine(argc, argv, model);
}

} // namespace matrt

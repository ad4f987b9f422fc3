// The only file that names the symbols of the generated model object. Keeping
// them here lets every other part of matrt link into unit tests, which
// supply a toy model instead.

#include "matrt/CommandLine.h"
#include "matrt/ModelAbi.h"

namespace matrt {

int runCompiledModel(int argc, char **argv) {
  return runCommandLine(argc, argv,
                        CompiledModel{matc_model_manifest, matc_model_forward});
}

} // namespace matrt

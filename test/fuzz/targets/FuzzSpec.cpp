// libFuzzer target: the model spec parser (spec/lib/ModelSpecParser.cpp).
// Any input must give a spec or diagnostics, never a crash; an accepted spec
// must survive its own writer and parser.
#include "matc/spec/ModelSpec.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  // "@file" mixes would read the file system; the fuzzer stays in memory.
  if (text.find('@') != std::string::npos)
    return -1;
  matc::spec::Diagnostics diags;
  std::optional<matc::spec::ModelSpec> spec =
      matc::spec::parseModelSpec(text, diags);
  if (spec) {
    matc::spec::Diagnostics again;
    if (!matc::spec::parseModelSpec(spec->toJson(), again))
      std::abort(); // the writer must produce a spec its parser accepts
  } else if (!diags.hasErrors()) {
    std::abort(); // a refusal must say why
  }
  return 0;
}

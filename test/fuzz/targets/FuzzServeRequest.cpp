// libFuzzer target: one line of `OUT serve` input
// (runtime/lib/ServeRequest.cpp). A refusal must say why; an accepted
// request has exactly one of prompt and tokens.
#include "matrt/ServeRequest.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string line(reinterpret_cast<const char *>(data), size);
  matrt::ServeRequest request;
  std::string error;
  if (!matrt::parseServeRequest(line, request, error)) {
    if (error.empty())
      std::abort();
    return 0;
  }
  if (request.prompt.has_value() == request.tokens.has_value())
    std::abort();
  if (request.options.maxNewTokens < 0 || request.draftTokens < 1)
    std::abort();
  return 0;
}

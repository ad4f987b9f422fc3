#ifndef MATC_TEST_UNIT_SPEC_SPECTESTSUPPORT_H
#define MATC_TEST_UNIT_SPEC_SPECTESTSUPPORT_H

#include "matc/spec/Diagnostics.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace matc::test {

// Succeeds when one diagnostic of `severity` contains every fragment; on
// failure, shows all diagnostics so the wording can be compared.
inline ::testing::AssertionResult
hasDiagnostic(const spec::Diagnostics &diags,
              spec::Diagnostic::Severity severity,
              std::initializer_list<std::string> fragments) {
  for (const spec::Diagnostic &diagnostic : diags.all()) {
    if (diagnostic.severity != severity)
      continue;
    bool all = true;
    for (const std::string &fragment : fragments)
      all &= diagnostic.message.find(fragment) != std::string::npos;
    if (all)
      return ::testing::AssertionSuccess();
  }
  std::string wanted;
  for (const std::string &fragment : fragments)
    wanted += " '" + fragment + "'";
  return ::testing::AssertionFailure()
         << "no "
         << (severity == spec::Diagnostic::Severity::Error ? "error"
                                                           : "warning")
         << " containing" << wanted << "; got:\n"
         << (diags.all().empty() ? std::string("(nothing)\n") : diags.str());
}

inline ::testing::AssertionResult
hasError(const spec::Diagnostics &diags,
         std::initializer_list<std::string> fragments) {
  return hasDiagnostic(diags, spec::Diagnostic::Severity::Error, fragments);
}

inline ::testing::AssertionResult
hasWarning(const spec::Diagnostics &diags,
           std::initializer_list<std::string> fragments) {
  return hasDiagnostic(diags, spec::Diagnostic::Severity::Warning, fragments);
}

// The bytes of a safetensors file with the given header text and `dataSize`
// zero bytes of data, for headers no correct writer would produce.
inline std::string safetensorsBytes(const std::string &header,
                                    uint64_t dataSize) {
  std::string bytes;
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes + header + std::string(dataSize, '\0');
}

} // namespace matc::test

#endif // MATC_TEST_UNIT_SPEC_SPECTESTSUPPORT_H

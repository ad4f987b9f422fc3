#include "matc/spec/Diagnostics.h"

#include <utility>

namespace matc::spec {

Diagnostics::Diagnostics(std::string source) : sourceName(std::move(source)) {}

void Diagnostics::error(const std::string &where, const std::string &what) {
  report(Diagnostic::Severity::Error, where, what);
}

void Diagnostics::warning(const std::string &where, const std::string &what) {
  report(Diagnostic::Severity::Warning, where, what);
}

void Diagnostics::report(Diagnostic::Severity severity,
                         const std::string &where, const std::string &what) {
  std::string message;
  // A file-level problem (e.g. the source itself is unreadable) names the
  // file as `where`; saying it twice would only add noise.
  if (!sourceName.empty() && where != sourceName)
    message = sourceName + ": ";
  if (!where.empty())
    message += where + ": ";
  message += what;
  if (severity == Diagnostic::Severity::Error)
    ++numErrors;
  diagnostics.push_back({severity, std::move(message),
                         where != sourceName ? sourceName : where,
                         where != sourceName ? where : std::string(), what});
}

std::string Diagnostics::str() const {
  std::string text;
  for (const Diagnostic &diagnostic : diagnostics) {
    text += diagnostic.severity == Diagnostic::Severity::Error ? "error: "
                                                               : "warning: ";
    text += diagnostic.message;
    text += '\n';
  }
  return text;
}

} // namespace matc::spec

#ifndef MATC_SPEC_DIAGNOSTICS_H
#define MATC_SPEC_DIAGNOSTICS_H

#include <cstddef>
#include <string>
#include <vector>

namespace matc::spec {

struct Diagnostic {
  enum class Severity { Error, Warning };
  Severity severity;
  // "<source>: <where>: <what was expected>"; empty parts are left out.
  std::string message;
  // The parts of `message`, for callers that report them as fields (the C
  // API's diagnostic records): the file or flag, the JSON field path / MIX
  // token / tensor name, and what was expected. Each may be empty.
  std::string source;
  std::string where;
  std::string what;
};

// Collects the errors and warnings of one input (a spec, a MIX, a checkpoint)
// so a caller can report all of them at once instead of stopping at the first.
class Diagnostics {
public:
  // `source` (usually a file path) prefixes every message.
  explicit Diagnostics(std::string source = "");

  // `where` is a JSON field path (`matformer.granularities[2]`), a MIX token
  // or a tensor name; `what` says what was expected.
  void error(const std::string &where, const std::string &what);
  void warning(const std::string &where, const std::string &what);
  void report(Diagnostic::Severity severity, const std::string &where,
              const std::string &what);

  bool hasErrors() const { return numErrors != 0; }
  // Lets a parser tell whether it added errors to a shared collection.
  std::size_t errorCount() const { return numErrors; }
  const std::vector<Diagnostic> &all() const { return diagnostics; }
  const std::string &source() const { return sourceName; }

  // One line per message: "error: ..." or "warning: ...".
  std::string str() const;

private:
  std::string sourceName;
  std::vector<Diagnostic> diagnostics;
  std::size_t numErrors = 0;
};

} // namespace matc::spec

#endif // MATC_SPEC_DIAGNOSTICS_H

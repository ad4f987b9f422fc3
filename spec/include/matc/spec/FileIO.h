#ifndef MATC_SPEC_FILEIO_H
#define MATC_SPEC_FILEIO_H

#include "matc/spec/Diagnostics.h"

#include <cstddef>
#include <cstdio>
#include <string>

namespace matc::spec {

// Reads a whole file; an unreadable file is an error naming the path.
bool readFile(const std::string &path, std::string &contents,
              Diagnostics &diags);

// Writes `path` through a temporary sibling (`path.tmp.<pid>`) that is renamed
// into place on commit(), so no reader ever sees a half-written output file.
// Destroying the writer without a successful commit() removes the temporary.
class AtomicFileWriter {
public:
  AtomicFileWriter(std::string path, Diagnostics &diags);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter &) = delete;
  AtomicFileWriter &operator=(const AtomicFileWriter &) = delete;

  // False once any step failed; the error was already reported.
  bool ok() const { return file != nullptr; }
  bool write(const void *data, std::size_t size);
  bool commit();

private:
  void abandon();

  std::string finalPath;
  std::string temporaryPath;
  Diagnostics &diags;
  std::FILE *file = nullptr;
};

bool writeFileAtomically(const std::string &path, const std::string &bytes,
                         Diagnostics &diags);

} // namespace matc::spec

#endif // MATC_SPEC_FILEIO_H

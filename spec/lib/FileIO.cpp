#include "matc/spec/FileIO.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <utility>

namespace matc::spec {

static std::string systemError() { return std::strerror(errno); }

bool readFile(const std::string &path, std::string &contents,
              Diagnostics &diags) {
  contents.clear();
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file) {
    diags.error(path, "cannot open for reading: " + systemError());
    return false;
  }
  char buffer[1 << 16];
  std::size_t count;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    contents.append(buffer, count);
  // A directory opens fine on Linux and only fails here, with EISDIR.
  bool failed = std::ferror(file) != 0;
  std::string reason = failed ? systemError() : "";
  std::fclose(file);
  if (failed) {
    diags.error(path, "cannot read: " + reason);
    contents.clear();
    return false;
  }
  return true;
}

AtomicFileWriter::AtomicFileWriter(std::string path, Diagnostics &diags)
    : finalPath(std::move(path)), diags(diags) {
  temporaryPath = finalPath + ".tmp." + std::to_string(::getpid());
  file = std::fopen(temporaryPath.c_str(), "wb");
  if (!file)
    diags.error(finalPath, "cannot open '" + temporaryPath +
                               "' for writing: " + systemError());
}

AtomicFileWriter::~AtomicFileWriter() { abandon(); }

void AtomicFileWriter::abandon() {
  if (!file)
    return;
  std::fclose(file);
  file = nullptr;
  std::remove(temporaryPath.c_str());
}

bool AtomicFileWriter::write(const void *data, std::size_t size) {
  if (!file)
    return false;
  if (size != 0 && std::fwrite(data, 1, size, file) != size) {
    diags.error(finalPath, "cannot write: " + systemError());
    abandon();
    return false;
  }
  return true;
}

bool AtomicFileWriter::commit() {
  if (!file)
    return false;
  std::FILE *closing = file;
  file = nullptr;
  if (std::fclose(closing) != 0) {
    diags.error(finalPath, "cannot write: " + systemError());
    std::remove(temporaryPath.c_str());
    return false;
  }
  if (std::rename(temporaryPath.c_str(), finalPath.c_str()) != 0) {
    diags.error(finalPath, "cannot rename '" + temporaryPath +
                               "' into place: " + systemError());
    std::remove(temporaryPath.c_str());
    return false;
  }
  return true;
}

bool writeFileAtomically(const std::string &path, const std::string &bytes,
                         Diagnostics &diags) {
  AtomicFileWriter writer(path, diags);
  return writer.write(bytes.data(), bytes.size()) && writer.commit();
}

} // namespace matc::spec

#ifndef MATC_TEST_UNIT_RUNTIME_COMMANDTESTSUPPORT_H
#define MATC_TEST_UNIT_RUNTIME_COMMANDTESTSUPPORT_H

// Runs the toy compiled model's command line with captured stdout and
// stderr, and stdin from a string (for serve).

#include "RuntimeTestSupport.h"
#include "matrt/CommandLine.h"

#include <string>
#include <vector>

namespace matc::test {

// What one run of the command line did.
struct Outcome {
  int status = -1;
  std::string out, err;
};

inline Outcome runToyCommand(const std::vector<std::string> &args,
                             const std::string &manifest = toyManifest(),
                             const std::string &input = "") {
  CapturedStream out, err, in;
  std::fwrite(input.data(), 1, input.size(), in.get());
  std::rewind(in.get());
  Outcome result;
  result.status =
      matrt::runCommandLine(args, "toy", toyModel(manifest),
                            matrt::Console{out.get(), err.get(), in.get()});
  result.out = out.contents();
  result.err = err.contents();
  return result;
}

inline bool contains(const std::string &text, const std::string &fragment) {
  return text.find(fragment) != std::string::npos;
}

// The lines of `text`, without their '\n'.
inline std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> result;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    result.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

} // namespace matc::test

#endif // MATC_TEST_UNIT_RUNTIME_COMMANDTESTSUPPORT_H

#ifndef MATRT_COMMANDLINE_H
#define MATRT_COMMANDLINE_H

#include "matrt/ModelAbi.h"

#include <cstdio>
#include <string>
#include <vector>

namespace matrt {

// Exit statuses of the compiled program (docs/REFERENCE.md, Command line).
enum ExitStatus : int {
  kExitSuccess = 0,
  kExitUserError = 1, // bad input: files, tokens, mix; the message names it
  kExitUsage = 2,     // bad command line: unknown flag, missing flag, ...
};

// Where a command's output goes (and serve's requests come from); tests
// substitute temporary files.
struct Console {
  std::FILE *out = stdout;
  std::FILE *err = stderr;
  std::FILE *in = stdin;
};

// The compiled program's command line:
//   OUT forward|generate|serve|eval|bench ... (see usageText)
// `args` excludes the program name, which only appears in messages.
int runCommandLine(const std::vector<std::string> &args,
                   const std::string &programName, const CompiledModel &model,
                   const Console &console = Console());
int runCommandLine(int argc, char **argv, const CompiledModel &model);

// The usage of every command, for `OUT --help`.
std::string usageText(const std::string &programName);

} // namespace matrt

#endif // MATRT_COMMANDLINE_H

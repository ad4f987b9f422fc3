#ifndef MATRT_LIB_COMMANDS_H
#define MATRT_LIB_COMMANDS_H

// The subcommands of the compiled program, one file each. Private to matrt:
// the entry point is runCommandLine.

#include "matc/spec/Diagnostics.h"
#include "matrt/CommandLine.h"
#include "matrt/FlagParser.h"

#include <string>
#include <vector>

namespace matrt {

struct CommandContext {
  std::string programName;
  CompiledModel model;
  Console console;

  // Prints the collected diagnostics; returns kExitUserError if any is an
  // error, else kExitSuccess.
  int report(const matc::spec::Diagnostics &diags) const;
  // Prints "error: <message>" and the command's usage; returns kExitUsage.
  int usageError(const std::string &message, const char *usage) const;
  // Handles --help anywhere among `args` (printing the usage) and otherwise
  // runs the parser; `exitStatus` is set when the command should stop.
  bool parseFlags(FlagParser &parser, const std::vector<std::string> &args,
                  const char *usage, int &exitStatus) const;
};

// Usage lines; "OUT" stands for the program name.
extern const char kForwardUsage[];
extern const char kGenerateUsage[];
extern const char kServeUsage[];
extern const char kEvalUsage[];
extern const char kBenchUsage[];
extern const char kTrainUsage[];

int runForward(const CommandContext &context,
               const std::vector<std::string> &args);
int runGenerate(const CommandContext &context,
                const std::vector<std::string> &args);
int runServe(const CommandContext &context,
             const std::vector<std::string> &args);
int runEval(const CommandContext &context,
            const std::vector<std::string> &args);
int runBench(const CommandContext &context,
             const std::vector<std::string> &args);
int runTrain(const CommandContext &context,
             const std::vector<std::string> &args);

} // namespace matrt

#endif // MATRT_LIB_COMMANDS_H

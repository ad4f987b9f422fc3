#include "matrt/CommandLine.h"

#include "Commands.h"

namespace matrt {

namespace {

// Usage lines are written with "OUT" for the program name.
std::string withProgramName(const char *usage, const std::string &program) {
  std::string text = usage;
  for (std::size_t at = text.find("OUT"); at != std::string::npos;
       at = text.find("OUT", at + program.size()))
    text.replace(at, 3, program);
  return text;
}

struct Command {
  const char *name;
  const char *usage;
  int (*run)(const CommandContext &, const std::vector<std::string> &);
};

// train is listed in every program; on one not compiled with --train it
// says so (exit 1).
const Command kCommands[] = {
    {"forward", kForwardUsage, runForward},
    {"generate", kGenerateUsage, runGenerate},
    {"serve", kServeUsage, runServe},
    {"eval", kEvalUsage, runEval},
    {"bench", kBenchUsage, runBench},
    {"train", kTrainUsage, runTrain},
};

std::string baseName(const char *path) {
  std::string text = path ? path : "model";
  std::size_t slash = text.rfind('/');
  return slash == std::string::npos ? text : text.substr(slash + 1);
}

} // namespace

int CommandContext::report(const matc::spec::Diagnostics &diags) const {
  std::string text = diags.str();
  std::fputs(text.c_str(), console.err);
  return diags.hasErrors() ? kExitUserError : kExitSuccess;
}

int CommandContext::usageError(const std::string &message,
                               const char *usage) const {
  std::fprintf(console.err, "error: %s\nusage: %s\n", message.c_str(),
               withProgramName(usage, programName).c_str());
  return kExitUsage;
}

bool CommandContext::parseFlags(FlagParser &parser,
                                const std::vector<std::string> &args,
                                const char *usage, int &exitStatus) const {
  for (const std::string &arg : args)
    if (arg == "--help" || arg == "-h") {
      std::fprintf(console.out, "usage: %s\n",
                   withProgramName(usage, programName).c_str());
      exitStatus = kExitSuccess;
      return false;
    }
  std::string error;
  if (parser.parse(args, error))
    return true;
  exitStatus = usageError(error, usage);
  return false;
}

std::string usageText(const std::string &programName) {
  std::string text = "usage:\n";
  for (const Command &command : kCommands)
    text += "  " + withProgramName(command.usage, programName) + "\n";
  text += "Run '" + programName + " COMMAND --help' for one command.\n";
  return text;
}

int runCommandLine(const std::vector<std::string> &args,
                   const std::string &programName, const CompiledModel &model,
                   const Console &console) {
  CommandContext context{programName, model, console};
  if (args.empty()) {
    std::fprintf(console.err, "error: no command given\n%s",
                 usageText(programName).c_str());
    return kExitUsage;
  }
  const std::string &name = args.front();
  if (name == "--help" || name == "-h" || name == "help") {
    std::fputs(usageText(programName).c_str(), console.out);
    return kExitSuccess;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const Command &command : kCommands)
    if (name == command.name)
      return command.run(context, rest);
  std::string known;
  for (const Command &command : kCommands)
    known += std::string(known.empty() ? "" : ", ") + command.name;
  std::fprintf(console.err,
               "error: unknown command '%s'; this program runs "
               "%s\n%s",
               name.c_str(), known.c_str(), usageText(programName).c_str());
  return kExitUsage;
}

int runCommandLine(int argc, char **argv, const CompiledModel &model) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return runCommandLine(args, baseName(argc > 0 ? argv[0] : nullptr), model);
}

} // namespace matrt

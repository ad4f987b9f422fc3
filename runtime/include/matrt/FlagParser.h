#ifndef MATRT_FLAGPARSER_H
#define MATRT_FLAGPARSER_H

#include <cstdint>
#include <string>
#include <vector>

namespace matrt {

// A small command-line parser for the compiled program's subcommands.
//
// Hand-rolled because the runtime must not depend on LLVM (a compiled model
// ships without the compiler), and the few needs here (`--flag value`,
// `--flag=value`, typed values with ranges, switches) do not justify another
// library. Each flag writes straight into a caller's variable; whether a flag
// was given is available afterwards for "exactly one of" checks, which the
// command itself makes.
//
// Everything parse() rejects is bad usage (exit status 2): an unknown flag, a
// missing value, a value not of the flag's type or range, a flag given twice
// (unless it is a list), a positional argument.
class FlagParser {
public:
  void addString(const std::string &name, std::string *value,
                 const std::string &valueName);
  void addInt(const std::string &name, int64_t *value, int64_t min, int64_t max,
              const std::string &valueName);
  void addUnsigned(const std::string &name, uint64_t *value,
                   const std::string &valueName);
  // A finite number >= min.
  void addDouble(const std::string &name, double *value, double min,
                 const std::string &valueName);
  // A switch: present or not, no value.
  void addSwitch(const std::string &name, bool *value);
  // A string flag that may be repeated; each value is appended in order.
  void addStringList(const std::string &name, std::vector<std::string> *values,
                     const std::string &valueName);

  // Parses args (without the program and command names). On failure `error`
  // says which argument is wrong and what was expected.
  bool parse(const std::vector<std::string> &args, std::string &error);

  bool given(const std::string &name) const;

private:
  enum class Kind { String, StringList, Int, Unsigned, Double, Switch };
  struct Flag {
    std::string name; // with the leading "--"
    Kind kind;
    void *target;
    std::string valueName;
    int64_t intMin = 0, intMax = 0;
    double doubleMin = 0;
    bool seen = false;
  };

  void add(Flag flag);
  Flag *find(const std::string &name);
  bool assign(Flag &flag, const std::string &text, std::string &error);

  std::vector<Flag> flags;
};

} // namespace matrt

#endif // MATRT_FLAGPARSER_H

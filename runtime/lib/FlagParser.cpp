#include "matrt/FlagParser.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace matrt {

void FlagParser::add(Flag flag) { flags.push_back(std::move(flag)); }

void FlagParser::addString(const std::string &name, std::string *value,
                           const std::string &valueName) {
  add({name, Kind::String, value, valueName});
}

void FlagParser::addInt(const std::string &name, int64_t *value, int64_t min,
                        int64_t max, const std::string &valueName) {
  Flag flag{name, Kind::Int, value, valueName};
  flag.intMin = min;
  flag.intMax = max;
  add(std::move(flag));
}

void FlagParser::addUnsigned(const std::string &name, uint64_t *value,
                             const std::string &valueName) {
  add({name, Kind::Unsigned, value, valueName});
}

void FlagParser::addDouble(const std::string &name, double *value, double min,
                           const std::string &valueName) {
  Flag flag{name, Kind::Double, value, valueName};
  flag.doubleMin = min;
  add(std::move(flag));
}

void FlagParser::addSwitch(const std::string &name, bool *value) {
  add({name, Kind::Switch, value, ""});
}

void FlagParser::addStringList(const std::string &name,
                               std::vector<std::string> *values,
                               const std::string &valueName) {
  add({name, Kind::StringList, values, valueName});
}

FlagParser::Flag *FlagParser::find(const std::string &name) {
  for (Flag &flag : flags)
    if (flag.name == name)
      return &flag;
  return nullptr;
}

bool FlagParser::given(const std::string &name) const {
  for (const Flag &flag : flags)
    if (flag.name == name)
      return flag.seen;
  return false;
}

namespace {

bool isInteger(const std::string &text, bool allowMinus) {
  std::size_t start = allowMinus && text.size() > 1 && text[0] == '-' ? 1 : 0;
  if (start == text.size())
    return false;
  for (std::size_t i = start; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9')
      return false;
  return true;
}

} // namespace

bool FlagParser::assign(Flag &flag, const std::string &text,
                        std::string &error) {
  std::string expected;
  switch (flag.kind) {
  case Kind::String:
    *static_cast<std::string *>(flag.target) = text;
    return true;
  case Kind::StringList:
    static_cast<std::vector<std::string> *>(flag.target)->push_back(text);
    return true;
  case Kind::Switch:
    *static_cast<bool *>(flag.target) = true;
    return true;
  case Kind::Int: {
    errno = 0;
    long long value =
        isInteger(text, true) ? std::strtoll(text.c_str(), nullptr, 10) : 0;
    if (isInteger(text, true) && errno == 0 && value >= flag.intMin &&
        value <= flag.intMax) {
      *static_cast<int64_t *>(flag.target) = value;
      return true;
    }
    expected = "an integer from " + std::to_string(flag.intMin) + " to " +
               std::to_string(flag.intMax);
    break;
  }
  case Kind::Unsigned: {
    errno = 0;
    unsigned long long value =
        isInteger(text, false) ? std::strtoull(text.c_str(), nullptr, 10) : 0;
    if (isInteger(text, false) && errno == 0) {
      *static_cast<uint64_t *>(flag.target) = value;
      return true;
    }
    expected = "an integer from 0 to 2^64-1";
    break;
  }
  case Kind::Double: {
    char *end = nullptr;
    errno = 0;
    double value = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size() && errno == 0 &&
        std::isfinite(value) && value >= flag.doubleMin) {
      *static_cast<double *>(flag.target) = value;
      return true;
    }
    char minimum[32];
    std::snprintf(minimum, sizeof(minimum), "%g", flag.doubleMin);
    expected = std::string("a number >= ") + minimum;
    break;
  }
  }
  error = flag.name + ": expected " + expected + ", got '" + text + "'";
  return false;
}

bool FlagParser::parse(const std::vector<std::string> &args,
                       std::string &error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      error = "unexpected argument '" + arg + "'; flags start with --";
      return false;
    }
    std::size_t equals = arg.find('=');
    std::string name = arg.substr(0, equals);
    Flag *flag = find(name);
    if (!flag) {
      error = "unknown flag " + name;
      return false;
    }
    if (flag->seen && flag->kind != Kind::StringList) {
      error = name + " given more than once";
      return false;
    }
    flag->seen = true;
    std::string value;
    if (flag->kind == Kind::Switch) {
      if (equals != std::string::npos) {
        error = name + " takes no value";
        return false;
      }
    } else if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      error = name + " needs a value (" + name + " " + flag->valueName + ")";
      return false;
    }
    if (!assign(*flag, value, error))
      return false;
  }
  return true;
}

} // namespace matrt

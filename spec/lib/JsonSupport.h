#ifndef MATC_SPEC_LIB_JSONSUPPORT_H
#define MATC_SPEC_LIB_JSONSUPPORT_H

// Shared by the spec, MIX and safetensors parsers. Private to MatcSpec so that
// nlohmann's headers stay out of the public API.
//
// Everything here uses nlohmann's non-throwing API: this library is linked
// into code built with -fno-exceptions, where a throw becomes an abort.

#include "matc/spec/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>

namespace matc::spec::json_support {

// Ordered so that diagnostics and written files follow the input's key order.
using Json = nlohmann::ordered_json;

// Malformed text is an error at `where` giving the line, column and byte.
std::optional<Json> parseJson(const std::string &text, const std::string &where,
                              Diagnostics &diags);

// Never throws, even for strings that are not valid UTF-8.
std::string dump(const Json &value, int indent = -1);

// A value as quoted in a message: its JSON text, shortened when long.
std::string describe(const Json &value);

// Whether `key` is one of a fixed table of field names.
template <std::size_t N>
bool isOneOf(const char *const (&names)[N], const std::string &key) {
  return std::find(std::begin(names), std::end(names), key) != std::end(names);
}

std::string memberPath(const std::string &object, const std::string &key);
std::string elementPath(const std::string &array, std::size_t index);

// Each reader reports a wrong type or range at `where`, quoting the value.
std::optional<int64_t> readInteger(const Json &value, const std::string &where,
                                   int64_t min, int64_t max,
                                   Diagnostics &diags);
std::optional<double> readNumber(const Json &value, const std::string &where,
                                 Diagnostics &diags);
std::optional<bool> readBool(const Json &value, const std::string &where,
                             Diagnostics &diags);
std::optional<std::string>
readString(const Json &value, const std::string &where, Diagnostics &diags);

} // namespace matc::spec::json_support

#endif // MATC_SPEC_LIB_JSONSUPPORT_H

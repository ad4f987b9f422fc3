#include "JsonSupport.h"

#include <cmath>
#include <limits>

namespace matc::spec::json_support {

namespace {

// The non-throwing parse only says "discarded"; this second pass exists to
// recover where the text went wrong and nlohmann's explanation of why.
struct ParseErrorFinder {
  std::size_t position = 0;
  std::string explanation;

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(Json::number_integer_t) { return true; }
  bool number_unsigned(Json::number_unsigned_t) { return true; }
  bool number_float(Json::number_float_t, const Json::string_t &) {
    return true;
  }
  bool string(Json::string_t &) { return true; }
  bool binary(Json::binary_t &) { return true; }
  bool start_object(std::size_t) { return true; }
  bool key(Json::string_t &) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t bytePosition, const std::string &,
                   const nlohmann::detail::exception &error) {
    position = bytePosition;
    explanation = error.what();
    return false;
  }
};

std::string withoutExceptionTag(const std::string &text) {
  // nlohmann prefixes "[json.exception.parse_error.101] ", which is noise.
  if (!text.empty() && text[0] == '[') {
    std::size_t close = text.find("] ");
    if (close != std::string::npos)
      return text.substr(close + 2);
  }
  return text;
}

std::string integerExpectation(int64_t min, int64_t max) {
  if (min == 1)
    return "a positive integer";
  if (min == 0)
    return "a non-negative integer";
  return "an integer from " + std::to_string(min) + " to " +
         std::to_string(max);
}

} // namespace

std::optional<Json> parseJson(const std::string &text, const std::string &where,
                              Diagnostics &diags) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded())
    return value;
  ParseErrorFinder finder;
  Json::sax_parse(text, &finder);
  std::string what = "invalid JSON";
  if (!finder.explanation.empty())
    what += ": " + withoutExceptionTag(finder.explanation) + " (byte " +
            std::to_string(finder.position) + ")";
  diags.error(where, what);
  return std::nullopt;
}

std::string dump(const Json &value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false,
                    Json::error_handler_t::replace);
}

std::string describe(const Json &value) {
  constexpr std::size_t maxLength = 40;
  std::string text = dump(value);
  if (text.size() > maxLength)
    text = text.substr(0, maxLength - 3) + "...";
  return text;
}

std::string memberPath(const std::string &object, const std::string &key) {
  return object.empty() ? key : object + "." + key;
}

std::string elementPath(const std::string &array, std::size_t index) {
  return array + "[" + std::to_string(index) + "]";
}

std::optional<int64_t> readInteger(const Json &value, const std::string &where,
                                   int64_t min, int64_t max,
                                   Diagnostics &diags) {
  std::string expected = "expected " + integerExpectation(min, max);
  if (!value.is_number_integer()) {
    diags.error(where, expected + ", got " + describe(value));
    return std::nullopt;
  }
  bool tooLarge =
      value.is_number_unsigned() &&
      value.get<uint64_t>() >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  int64_t number = tooLarge ? 0 : value.get<int64_t>();
  if (!tooLarge && number < min) {
    diags.error(where, expected + ", got " + describe(value));
    return std::nullopt;
  }
  if (tooLarge || number > max) {
    diags.error(where, "must be at most " + std::to_string(max) + ", got " +
                           describe(value));
    return std::nullopt;
  }
  return number;
}

std::optional<double> readNumber(const Json &value, const std::string &where,
                                 Diagnostics &diags) {
  if (!value.is_number()) {
    diags.error(where, "expected a number, got " + describe(value));
    return std::nullopt;
  }
  double number = value.get<double>();
  if (!std::isfinite(number)) {
    diags.error(where, "expected a finite number, got " + describe(value));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> readBool(const Json &value, const std::string &where,
                             Diagnostics &diags) {
  if (!value.is_boolean()) {
    diags.error(where, "expected true or false, got " + describe(value));
    return std::nullopt;
  }
  return value.get<bool>();
}

std::optional<std::string>
readString(const Json &value, const std::string &where, Diagnostics &diags) {
  if (!value.is_string()) {
    diags.error(where, "expected a string, got " + describe(value));
    return std::nullopt;
  }
  return value.get<std::string>();
}

} // namespace matc::spec::json_support

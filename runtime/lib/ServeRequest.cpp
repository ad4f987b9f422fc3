#include "matrt/ServeRequest.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace matrt {

using Json = nlohmann::ordered_json;

namespace {

// nlohmann's non-throwing DOM parse only says that a text is malformed; its
// SAX interface also says where and why. Everything else is accepted.
class SyntaxErrorCatcher : public nlohmann::json_sax<Json> {
public:
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &error) override {
    // what() reads "[json.exception.parse_error.101] parse error at ...".
    message = error.what();
    std::size_t bracket = message.find("] ");
    if (message.rfind("[json.exception", 0) == 0 &&
        bracket != std::string::npos)
      message.erase(0, bracket + 2);
    return false;
  }
};

// A value quoted in an error, cut short when long.
std::string shown(const Json &value) {
  constexpr std::size_t limit = 40;
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text.size() > limit ? text.substr(0, limit) + "..." : text;
}

std::string fieldError(const std::string &name, const std::string &expected,
                       const Json &value) {
  return "field '" + name + "': expected " + expected + ", got " + shown(value);
}

bool readInt(const Json &value, const std::string &name, int64_t min,
             int64_t max, int64_t &target, std::string &error) {
  // nlohmann stores non-negative integers as unsigned, the rest as signed.
  bool fits = false;
  if (value.is_number_unsigned())
    fits = value.get<uint64_t>() <= static_cast<uint64_t>(max) &&
           value.get<int64_t>() >= min;
  else if (value.is_number_integer())
    fits = value.get<int64_t>() >= min && value.get<int64_t>() <= max;
  if (!fits) {
    error = fieldError(name,
                       "an integer from " + std::to_string(min) + " to " +
                           std::to_string(max),
                       value);
    return false;
  }
  target = value.get<int64_t>();
  return true;
}

bool readMix(const Json &value, const std::string &name,
             std::optional<std::string> &target, std::string &error) {
  if (value.is_string() && !value.get<std::string>().empty() &&
      value.get<std::string>()[0] == '@') {
    // A client must not make the server read its files.
    error = "field '" + name +
            "': '@file' is not accepted in a request (send the MatFormer Lab "
            "object inline)";
    return false;
  }
  if (value.is_string() && !value.get<std::string>().empty()) {
    target = value.get<std::string>();
    return true;
  }
  if (value.is_object()) {
    // Inline MatFormer Lab JSON is MIX text too.
    target = value.dump();
    return true;
  }
  error = fieldError(name,
                     "a MIX (text such as \"S,M,L\" or a "
                     "{\"ffn_hidden_dims\": ...} object)",
                     value);
  return false;
}

bool readTokens(const Json &value, std::optional<std::vector<int32_t>> &target,
                std::string &error) {
  if (!value.is_array()) {
    error = fieldError("tokens", "an array of token ids", value);
    return false;
  }
  std::vector<int32_t> tokens;
  for (std::size_t i = 0; i < value.size(); ++i) {
    int64_t token = 0;
    if (!readInt(value[i], "tokens", std::numeric_limits<int32_t>::min(),
                 std::numeric_limits<int32_t>::max(), token, error)) {
      error = fieldError("tokens",
                         "integer token ids; entry " + std::to_string(i) +
                             " is not one",
                         value[i]);
      return false;
    }
    tokens.push_back(static_cast<int32_t>(token));
  }
  target = std::move(tokens);
  return true;
}

bool readField(const std::string &name, const Json &value,
               ServeRequest &request, std::string &error) {
  constexpr int64_t intMax = std::numeric_limits<int32_t>::max();
  GenerationOptions &options = request.options;
  if (name == "prompt") {
    if (!value.is_string()) {
      error = fieldError(name, "a string", value);
      return false;
    }
    request.prompt = value.get<std::string>();
    return true;
  }
  if (name == "tokens")
    return readTokens(value, request.tokens, error);
  if (name == "mix")
    return readMix(value, name, request.mixText, error);
  if (name == "draft_mix")
    return readMix(value, name, request.draftMixText, error);
  if (name == "max_new_tokens") {
    request.maxNewTokensGiven = true;
    return readInt(value, name, 0, intMax, options.maxNewTokens, error);
  }
  if (name == "top_k")
    return readInt(value, name, 0, intMax, options.sampling.topK, error);
  if (name == "draft_tokens")
    return readInt(value, name, 1, intMax, request.draftTokens, error);
  if (name == "temperature") {
    if (!value.is_number() || !std::isfinite(value.get<double>()) ||
        value.get<double>() < 0) {
      error = fieldError(name, "a number >= 0", value);
      return false;
    }
    options.sampling.temperature = value.get<double>();
    return true;
  }
  if (name == "seed") {
    if (!value.is_number_unsigned()) {
      error = fieldError(name, "an integer from 0 to 2^64-1", value);
      return false;
    }
    options.sampling.seed = value.get<uint64_t>();
    return true;
  }
  request.warnings.push_back("unknown field '" + name + "' ignored");
  return true;
}

} // namespace

bool parseServeRequest(const std::string &line, ServeRequest &request,
                       std::string &error) {
  request = ServeRequest();
  SyntaxErrorCatcher catcher;
  if (!Json::sax_parse(line, &catcher)) {
    error = "malformed JSON: " + catcher.message;
    return false;
  }
  Json root = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!root.is_object()) {
    error = "expected a JSON object per line, got " + shown(root);
    return false;
  }
  if (auto id = root.find("id"); id != root.end())
    request.idJson = id->dump(-1, ' ', false, Json::error_handler_t::replace);
  for (auto member = root.begin(); member != root.end(); ++member) {
    if (member.key() == "id" || member->is_null())
      continue;
    if (!readField(member.key(), *member, request, error))
      return false;
  }
  if (request.prompt.has_value() == request.tokens.has_value()) {
    error = "give exactly one of the fields 'prompt' and 'tokens'";
    return false;
  }
  return true;
}

} // namespace matrt

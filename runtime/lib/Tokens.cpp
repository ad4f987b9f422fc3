#include "matrt/Tokens.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

namespace matrt {

std::vector<int32_t> encodeBytes(const std::string &text) {
  std::vector<int32_t> tokens;
  tokens.reserve(text.size());
  for (char c : text)
    tokens.push_back(static_cast<unsigned char>(c));
  return tokens;
}

std::string decodeBytes(const std::vector<int32_t> &tokens) {
  std::string text;
  text.reserve(tokens.size());
  for (int32_t token : tokens)
    text += static_cast<char>(static_cast<unsigned char>(token));
  return text;
}

std::optional<std::vector<int32_t>> parseTokenList(const std::string &text,
                                                   const std::string &flag,
                                                   std::string &error) {
  std::vector<int32_t> tokens;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string entry = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t first = entry.find_first_not_of(' ');
    std::size_t last = entry.find_last_not_of(' ');
    std::string digits =
        first == std::string::npos ? "" : entry.substr(first, last - first + 1);
    // Only [-]digits: strtoll alone would accept "+1", " 1x" or "0x10".
    bool wellFormed = !digits.empty();
    for (std::size_t i = 0; i < digits.size(); ++i)
      wellFormed &= (digits[i] >= '0' && digits[i] <= '9') ||
                    (i == 0 && digits[i] == '-' && digits.size() > 1);
    long long value = 0;
    if (wellFormed) {
      errno = 0;
      value = std::strtoll(digits.c_str(), nullptr, 10);
      wellFormed = errno == 0 && value >= std::numeric_limits<int32_t>::min() &&
                   value <= std::numeric_limits<int32_t>::max();
    }
    if (!wellFormed) {
      error = flag + ": entry " + std::to_string(tokens.size()) + " is '" +
              entry + "'; expected comma-separated token ids such as 1,2,3";
      return std::nullopt;
    }
    tokens.push_back(static_cast<int32_t>(value));
    if (comma == std::string::npos)
      return tokens;
    start = comma + 1;
  }
}

std::string formatTokenList(const std::vector<int32_t> &tokens) {
  std::string text;
  for (std::size_t i = 0; i < tokens.size(); ++i)
    text += (i ? "," : "") + std::to_string(tokens[i]);
  return text;
}

bool checkTokenRange(const std::vector<int32_t> &tokens, int64_t vocab,
                     const std::string &flag, matc::spec::Diagnostics &diags) {
  // A few examples say what is wrong; thousands of lines would bury it.
  constexpr std::size_t maxReported = 5;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= 0 && tokens[i] < vocab)
      continue;
    if (++bad <= maxReported)
      diags.error(flag, "token " + std::to_string(i) + " is " +
                            std::to_string(tokens[i]) +
                            ", outside the vocabulary: expected 0.." +
                            std::to_string(vocab - 1));
  }
  if (bad > maxReported)
    diags.error(flag, std::to_string(bad - maxReported) +
                          " more tokens outside the vocabulary");
  return bad == 0;
}

} // namespace matrt

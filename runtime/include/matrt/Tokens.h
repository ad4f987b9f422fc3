#ifndef MATRT_TOKENS_H
#define MATRT_TOKENS_H

#include "matc/spec/Diagnostics.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace matrt {

// The byte tokenizer of vocab_size 256 models: a token is a byte value, text
// is its UTF-8 bytes, and decoding is the inverse (any byte sequence, valid
// UTF-8 or not, round-trips).
constexpr int64_t kByteVocabSize = 256;
std::vector<int32_t> encodeBytes(const std::string &text);
// Tokens must be in [0, 256).
std::string decodeBytes(const std::vector<int32_t> &tokens);

// Parses "1,2,3" (spaces around ids allowed). `flag` names the source in the
// error, which says which entry is malformed. Range is not checked here:
// checkTokenRange does that against the model.
std::optional<std::vector<int32_t>> parseTokenList(const std::string &text,
                                                   const std::string &flag,
                                                   std::string &error);

// "1,2,3".
std::string formatTokenList(const std::vector<int32_t> &tokens);

// Every token in [0, vocab); the error names `flag`, the position in the
// list and the value.
bool checkTokenRange(const std::vector<int32_t> &tokens, int64_t vocab,
                     const std::string &flag, matc::spec::Diagnostics &diags);

} // namespace matrt

#endif // MATRT_TOKENS_H

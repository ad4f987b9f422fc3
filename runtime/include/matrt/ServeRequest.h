#ifndef MATRT_SERVEREQUEST_H
#define MATRT_SERVEREQUEST_H

#include "matrt/Generation.h"
#include "matrt/SpeculativeDecoding.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace matrt {

// One line of `OUT serve`'s input: a JSON object
//   {"id": any, "prompt": "text" | "tokens": [ids], "mix": MIX,
//    "max_new_tokens": n, "temperature": t, "top_k": k, "seed": s,
//    "draft_mix": MIX, "draft_tokens": k}
// where only `prompt` or `tokens` (exactly one) is required. A MIX is MIX
// text (docs/REFERENCE.md, Mix'n'Match syntax) or a MatFormer Lab JSON
// object. A member set to null counts as absent. An unknown member is ignored
// with a warning in the reply, so clients written for a later version still
// get answers.
// The longest request line `OUT serve` reads (1 MiB, '\n' not counted); a
// longer one is dropped unread past the limit and gets an error reply.
inline constexpr std::size_t kMaxServeLineBytes = std::size_t(1) << 20;

struct ServeRequest {
  // The "id" member as JSON text, echoed in the reply; empty when absent.
  std::string idJson;
  std::optional<std::string> prompt;
  std::optional<std::vector<int32_t>> tokens;
  std::optional<std::string> mixText;      // absent: the server's mix
  std::optional<std::string> draftMixText; // absent: no speculative decoding
  int64_t draftTokens = kDefaultDraftTokens;
  GenerationOptions options; // max 32 new tokens, greedy, seed 0
  // max_new_tokens was given (the default is clamped to the context,
  // a given value beyond it is an error).
  bool maxNewTokensGiven = false;
  std::vector<std::string> warnings;
};

// Parses one request line. On failure `error` names the problem: malformed
// JSON (with its line and column), not an object, or the field and what it
// expected, e.g. "field 'top_k': expected an integer from 0 to 2147483647,
// got -1". request.idJson is filled whenever the line had an id, so the
// error reply can carry it.
bool parseServeRequest(const std::string &line, ServeRequest &request,
                       std::string &error);

} // namespace matrt

#endif // MATRT_SERVEREQUEST_H

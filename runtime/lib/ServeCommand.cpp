// OUT serve: generation requests as JSON lines on stdin, one JSON reply per
// line on stdout, with the weights loaded once for all of them.

#include "Commands.h"
#include "ModelSession.h"

#include "matrt/Generation.h"
#include "matrt/MixSelection.h"
#include "matrt/ServeRequest.h"
#include "matrt/SpeculativeDecoding.h"
#include "matrt/Tokens.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace matrt {

const char kServeUsage[] = "OUT serve --weights W [--mix MIX]";

namespace {

using Json = nlohmann::ordered_json;
using matc::spec::Diagnostic;
using matc::spec::Diagnostics;
using matc::spec::formatMix;
using matc::spec::Mix;

// One line without its '\n' (and a '\r' before it); false at end of input.
// At most kMaxServeLineBytes are kept: the rest of a longer line is read and
// dropped (memory stays bounded whatever the client sends) and `tooLong`
// is set. A final line without '\n' counts as a line.
bool readLine(std::FILE *in, std::string &line, bool &tooLong) {
  line.clear();
  tooLong = false;
  int c = std::getc(in);
  if (c == EOF)
    return false;
  // Byte by byte: NUL bytes and any other binary garbage stay in the line.
  for (; c != EOF && c != '\n'; c = std::getc(in)) {
    if (line.size() < kMaxServeLineBytes + 1)
      line.push_back(static_cast<char>(c));
    else
      tooLong = true;
  }
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  tooLong |= line.size() > kMaxServeLineBytes;
  if (tooLong)
    line.clear();
  return true;
}

bool isBlank(const std::string &line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::string messages(const Diagnostics &diags, Diagnostic::Severity severity) {
  std::string text;
  for (const Diagnostic &d : diags.all())
    if (d.severity == severity)
      text += (text.empty() ? "" : "; ") + d.message;
  return text;
}

// Answers requests one at a time with the session's weights. The main
// runner switches mix per request; a draft runner, with its own cache, is
// made the first time a request asks for speculative decoding.
class Server {
public:
  explicit Server(ModelSession &session) : session(session) {}

  Json answer(const std::string &line);

private:
  bool generateFor(const ServeRequest &request, const Mix &mix,
                   const std::optional<Mix> &draftMix,
                   const std::vector<int32_t> &prompt, Json &reply,
                   Diagnostics &diags);

  ModelSession &session;
  std::unique_ptr<ModelRunner> draftRunner;
};

Json Server::answer(const std::string &line) {
  ServeRequest request;
  std::string error;
  bool parsed = parseServeRequest(line, request, error);
  Json reply;
  reply["id"] = request.idJson.empty()
                    ? Json(nullptr)
                    : Json::parse(request.idJson, nullptr, false);
  if (!parsed) {
    reply["error"] = error;
    return reply;
  }

  // Every check before any work, so one reply names all problems found.
  Diagnostics diags;
  const Manifest &manifest = session.manifest();
  std::optional<Mix> mix =
      request.mixText
          ? selectMix(manifest, *request.mixText, diags, "field 'mix'")
          : std::optional<Mix>(session.mix());
  std::optional<Mix> draftMix;
  if (request.draftMixText)
    draftMix = selectDraftMix(manifest, *request.draftMixText, diags,
                              "field 'draft_mix'");
  if (request.maxNewTokensGiven)
    session.checkMaxNewTokens(request.options.maxNewTokens,
                              "field 'max_new_tokens'", diags);
  std::optional<std::vector<int32_t>> prompt = request.tokens;
  std::string promptField =
      request.prompt ? "field 'prompt'" : "field 'tokens'";
  if (request.prompt)
    prompt = session.textTokens(promptField, *request.prompt, diags);
  if (prompt && !session.checkPrompt(*prompt, promptField, diags))
    prompt.reset();
  if (!diags.hasErrors())
    generateFor(request, *mix, draftMix, *prompt, reply, diags);

  if (diags.hasErrors()) {
    Json failed;
    failed["id"] = reply["id"];
    failed["error"] = messages(diags, Diagnostic::Severity::Error);
    return failed;
  }
  std::vector<std::string> warnings = request.warnings;
  for (const Diagnostic &d : diags.all())
    warnings.push_back(d.message);
  if (!warnings.empty())
    reply["warnings"] = warnings;
  return reply;
}

bool Server::generateFor(const ServeRequest &request, const Mix &mix,
                         const std::optional<Mix> &draftMix,
                         const std::vector<int32_t> &prompt, Json &reply,
                         Diagnostics &diags) {
  ModelRunner &runner = session.runner();
  if (!runner.setMix(mix, diags))
    return false;
  if (draftMix && !draftRunner)
    draftRunner = session.createRunner(*draftMix, diags);
  if (draftMix && (!draftRunner || !draftRunner->setMix(*draftMix, diags)))
    return false;

  GenerationResult result;
  SpeculationStats stats;
  bool ok = draftMix ? generateSpeculative(runner, *draftRunner, prompt,
                                           request.options, request.draftTokens,
                                           result, stats, diags)
                     : generate(runner, prompt, request.options, result, diags);
  if (!ok)
    return false;
  if (result.stoppedAtMaxPositions)
    diags.warning("", "generation stopped at max_positions (" +
                          std::to_string(runner.maxPositions()) + ") after " +
                          std::to_string(result.tokens.size()) + " tokens");

  reply["mix"] = formatMix(mix);
  if (draftMix)
    reply["draft_mix"] = formatMix(*draftMix);
  reply["tokens"] = result.tokens;
  // Bytes that are not UTF-8 become U+FFFD when the reply is written;
  // "tokens" keeps them exactly.
  if (session.byteTokenizer())
    reply["text"] = decodeBytes(result.tokens);
  reply["prompt_tokens"] = prompt.size();
  reply["prefill_tok_s"] =
      result.prefillTokensPerSecond(static_cast<int64_t>(prompt.size()));
  reply["decode_tok_s"] = result.decodeTokensPerSecond();
  if (draftMix) {
    reply["accept_rate"] = stats.acceptanceRate();
    reply["drafted_tokens"] = stats.draftedTokens;
    reply["accepted_tokens"] = stats.acceptedTokens;
  }
  return true;
}

} // namespace

int runServe(const CommandContext &context,
             const std::vector<std::string> &args) {
  std::string weightsPath, mixText;
  FlagParser parser;
  parser.addString("--weights", &weightsPath, "W");
  parser.addString("--mix", &mixText, "MIX");
  int status = kExitSuccess;
  if (!context.parseFlags(parser, args, kServeUsage, status))
    return status;
  if (!parser.given("--weights"))
    return context.usageError("--weights is required", kServeUsage);

  Diagnostics diags;
  ModelSession session;
  if (!session.open(context.model, mixText, diags) ||
      !session.loadWeights(weightsPath, diags))
    return context.report(diags);
  // Start-up warnings (a converted checkpoint, an untrained width) go out
  // before the first request is read.
  context.report(diags);
  const Manifest &manifest = session.manifest();
  std::fprintf(context.console.err,
               "serve: %s binary, default mix %s; reading one JSON request "
               "per line\n",
               manifest.elastic ? "elastic" : "static",
               formatMix(session.mix()).c_str());
  std::fflush(context.console.err);

  // A client that stops reading must not kill the server with SIGPIPE: the
  // failed write is seen below and ends the loop cleanly.
  std::signal(SIGPIPE, SIG_IGN);
  Server server(session);
  int64_t requests = 0, failures = 0;
  std::string line;
  bool tooLong = false, outputClosed = false;
  while (readLine(context.console.in, line, tooLong)) {
    if (!tooLong && isBlank(line))
      continue;
    Json reply;
    if (tooLong) {
      reply["id"] = nullptr;
      reply["error"] = "request line longer than the limit of " +
                       std::to_string(kMaxServeLineBytes) + " bytes";
    } else {
      reply = server.answer(line);
    }
    ++requests;
    failures += reply.contains("error") ? 1 : 0;
    std::string text =
        reply.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (std::fprintf(context.console.out, "%s\n", text.c_str()) < 0 ||
        std::fflush(context.console.out) != 0) {
      outputClosed = true;
      break;
    }
  }
  if (outputClosed) {
    std::fprintf(context.console.err,
                 "serve: cannot write replies (%s); stopping after %lld "
                 "requests\n",
                 std::strerror(errno), static_cast<long long>(requests));
    return kExitUserError;
  }
  std::fprintf(context.console.err, "serve: %lld requests, %lld failed\n",
               static_cast<long long>(requests),
               static_cast<long long>(failures));
  return kExitSuccess;
}

} // namespace matrt

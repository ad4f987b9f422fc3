// OUT forward: one forward pass over a prompt, logits written as .npy.

#include "Commands.h"
#include "ModelSession.h"

#include "matrt/NpyWriter.h"

namespace matrt {

const char kForwardUsage[] =
    "OUT forward --weights W [--mix MIX] (--tokens 1,2,3 | --text STR) "
    "--output LOGITS.npy";

int runForward(const CommandContext &context,
               const std::vector<std::string> &args) {
  std::string weightsPath, mixText, tokensText, text, outputPath;
  FlagParser parser;
  parser.addString("--weights", &weightsPath, "W");
  parser.addString("--mix", &mixText, "MIX");
  parser.addString("--tokens", &tokensText, "IDS");
  parser.addString("--text", &text, "STR");
  parser.addString("--output", &outputPath, "LOGITS.npy");
  int status = kExitSuccess;
  if (!context.parseFlags(parser, args, kForwardUsage, status))
    return status;
  if (!parser.given("--weights"))
    return context.usageError("--weights is required", kForwardUsage);
  if (!parser.given("--output"))
    return context.usageError("--output is required", kForwardUsage);
  if (parser.given("--tokens") == parser.given("--text"))
    return context.usageError("give exactly one of --tokens and --text",
                              kForwardUsage);

  matc::spec::Diagnostics diags;
  ModelSession session;
  if (!session.open(context.model, mixText, diags))
    return context.report(diags);
  bool useTokens = parser.given("--tokens");
  std::optional<std::vector<int32_t>> tokens = session.promptTokens(
      useTokens ? "--tokens" : "--text", useTokens ? tokensText : text, diags);
  if (!tokens)
    return context.report(diags);
  // Opened before the slow part, so an unwritable path fails at once. The
  // temporary file is removed if anything below fails.
  matc::spec::AtomicFileWriter output(outputPath, diags);
  if (!output.ok() || !session.loadWeights(weightsPath, diags))
    return context.report(diags);

  ModelRunner &runner = session.runner();
  if (!runner.run(*tokens, diags, LogitRows::All))
    return context.report(diags);
  writeNpyFloat32(output, runner.logits().data(),
                  {static_cast<int64_t>(tokens->size()), runner.vocabSize()});
  return context.report(diags);
}

} // namespace matrt

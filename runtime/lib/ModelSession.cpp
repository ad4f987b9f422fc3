#include "ModelSession.h"

#include "matrt/MixSelection.h"
#include "matrt/Tokens.h"

namespace matrt {

using matc::spec::Diagnostics;

bool ModelSession::open(const CompiledModel &model, const std::string &mixFlag,
                        Diagnostics &diags, const std::string *draftMixFlag) {
  forward = model.forward;
  loss = model.loss;
  Diagnostics manifestDiags("compiled model manifest");
  if (!model.forward)
    manifestDiags.error("", "no forward function");
  else if (model.manifestText)
    parsedManifest = parseManifest(model.manifestText, manifestDiags);
  else
    manifestDiags.error("", "missing");
  for (const matc::spec::Diagnostic &d : manifestDiags.all())
    diags.report(d.severity, "", d.message);
  if (!parsedManifest)
    return false;
  selectedMix = selectMix(*parsedManifest, mixFlag, diags);
  if (!selectedMix)
    return false;
  if (!draftMixFlag)
    return true;
  selectedDraftMix = selectDraftMix(*parsedManifest, *draftMixFlag, diags);
  return selectedDraftMix.has_value();
}

bool ModelSession::byteTokenizer() const {
  return manifest().vocabSize == kByteVocabSize;
}

std::optional<std::vector<int32_t>>
ModelSession::promptTokens(const std::string &flag, const std::string &value,
                           Diagnostics &diags) const {
  std::optional<std::vector<int32_t>> tokens;
  if (flag == "--tokens") {
    std::string error;
    tokens = parseTokenList(value, flag, error);
    if (!tokens)
      diags.error("", error);
  } else {
    tokens = textTokens(flag, value, diags);
  }
  if (!tokens || !checkPrompt(*tokens, flag, diags))
    return std::nullopt;
  return tokens;
}

std::optional<std::vector<int32_t>>
ModelSession::textTokens(const std::string &where, const std::string &text,
                         Diagnostics &diags) const {
  if (!byteTokenizer()) {
    diags.error(
        where,
        "this model has vocab_size " + std::to_string(manifest().vocabSize) +
            " and no tokenizer; text works only with the byte "
            "tokenizer (vocab_size 256), so pass token ids " +
            (where.rfind("--", 0) == 0 ? "with --tokens" : "in \"tokens\""));
    return std::nullopt;
  }
  return encodeBytes(text);
}

bool ModelSession::checkPrompt(const std::vector<int32_t> &tokens,
                               const std::string &where,
                               Diagnostics &diags) const {
  if (tokens.empty()) {
    diags.error(where, "empty; the model needs at least one token");
    return false;
  }
  if (!checkTokenRange(tokens, manifest().vocabSize, where, diags))
    return false;
  if (static_cast<int64_t>(tokens.size()) > manifest().maxPositions) {
    diags.error(where, std::to_string(tokens.size()) +
                           " tokens, more than the model's max_positions (" +
                           std::to_string(manifest().maxPositions) + ")");
    return false;
  }
  return true;
}

bool ModelSession::checkMaxNewTokens(int64_t maxNewTokens,
                                     const std::string &where,
                                     Diagnostics &diags) const {
  if (maxNewTokens <= manifest().maxPositions)
    return true;
  diags.error(where, std::to_string(maxNewTokens) +
                         " is beyond the model's context: at most "
                         "max_positions (" +
                         std::to_string(manifest().maxPositions) +
                         ") tokens fit, prompt included");
  return false;
}

bool ModelSession::loadWeights(const std::string &path, Diagnostics &diags) {
  weights = WeightStore::load(path, manifest(), diags);
  if (!weights)
    return false;
  modelRunner = createRunner(mix(), diags);
  return modelRunner != nullptr;
}

namespace {
std::unique_ptr<ModelRunner>
runnerOver(const Manifest &manifest, matc::abi::ForwardFn forward,
           matc::abi::LossFn loss, const WeightStore &weights,
           const matc::spec::Mix &mix, Diagnostics &diags) {
  std::unique_ptr<ModelRunner> runner =
      ModelRunner::create(manifest, forward, weights.pointers(), diags, loss);
  if (!runner || !runner->setMix(mix, diags))
    return nullptr;
  return runner;
}
} // namespace

std::unique_ptr<ModelRunner>
ModelSession::createRunner(const matc::spec::Mix &mix, Diagnostics &diags) {
  return runnerOver(manifest(), forward, loss, *weights, mix, diags);
}

bool ModelSession::loadDraftWeights(const std::string &path,
                                    Diagnostics &diags) {
  draftWeights = WeightStore::load(path, manifest(), diags);
  return draftWeights != nullptr;
}

std::unique_ptr<ModelRunner>
ModelSession::createDraftRunner(const matc::spec::Mix &mix,
                                Diagnostics &diags) {
  return runnerOver(manifest(), forward, loss,
                    draftWeights ? *draftWeights : *weights, mix, diags);
}

} // namespace matrt

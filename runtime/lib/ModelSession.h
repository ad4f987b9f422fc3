#ifndef MATRT_LIB_MODELSESSION_H
#define MATRT_LIB_MODELSESSION_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matrt/Manifest.h"
#include "matrt/ModelAbi.h"
#include "matrt/ModelRunner.h"
#include "matrt/WeightStore.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace matrt {

// What every command sets up, in the order that reports cheap mistakes
// before the slow part: the manifest and the mix (open), the prompt checked
// against the model (checkPrompt), then the weights and the KV cache
// (loadWeights).
class ModelSession {
public:
  // `draftMixFlag`, when given, also selects a draft mix for speculative
  // decoding (an elastic binary only); see draftMix().
  bool open(const CompiledModel &model, const std::string &mixFlag,
            matc::spec::Diagnostics &diags,
            const std::string *draftMixFlag = nullptr);

  // A prompt from --tokens (parsed ids) or text (--text/--prompt, only for
  // the byte tokenizer); `flag` names it in errors. Checks that it is
  // non-empty, in the vocabulary and no longer than max_positions.
  std::optional<std::vector<int32_t>>
  promptTokens(const std::string &flag, const std::string &value,
               matc::spec::Diagnostics &diags) const;
  // Text through the byte tokenizer; another vocabulary is an error naming
  // `where` (which says to pass --tokens).
  std::optional<std::vector<int32_t>>
  textTokens(const std::string &where, const std::string &text,
             matc::spec::Diagnostics &diags) const;
  // The checks promptTokens makes of a prompt given as ids.
  bool checkPrompt(const std::vector<int32_t> &tokens, const std::string &where,
                   matc::spec::Diagnostics &diags) const;

  // --max-new-tokens / max_new_tokens beyond the context can never be
  // honoured: more than max_positions is an error naming `where`.
  bool checkMaxNewTokens(int64_t maxNewTokens, const std::string &where,
                         matc::spec::Diagnostics &diags) const;

  // Loads the weights once and makes runner(), set to the selected mix.
  bool loadWeights(const std::string &path, matc::spec::Diagnostics &diags);
  // Another runner over the same weights with a KV cache of its own (a draft
  // model, say), set to `mix`. Needs loadWeights first.
  std::unique_ptr<ModelRunner> createRunner(const matc::spec::Mix &mix,
                                            matc::spec::Diagnostics &diags);
  // --draft-weights: a second checkpoint with the manifest's tensors (another
  // model of the same shapes, a separately trained small one padded to them,
  // say) that createDraftRunner runs instead of the main weights.
  bool loadDraftWeights(const std::string &path,
                        matc::spec::Diagnostics &diags);
  // The draft model's runner, set to `mix`: over the draft weights when
  // loadDraftWeights loaded some, else over the main weights (createRunner).
  std::unique_ptr<ModelRunner>
  createDraftRunner(const matc::spec::Mix &mix, matc::spec::Diagnostics &diags);

  const Manifest &manifest() const { return *parsedManifest; }
  const matc::spec::Mix &mix() const { return *selectedMix; }
  // The draft mix open() selected, if it was asked for one.
  const std::optional<matc::spec::Mix> &draftMix() const {
    return selectedDraftMix;
  }
  ModelRunner &runner() { return *modelRunner; }
  bool byteTokenizer() const;

private:
  matc::abi::ForwardFn forward = nullptr;
  matc::abi::LossFn loss = nullptr;
  std::optional<Manifest> parsedManifest;
  std::optional<matc::spec::Mix> selectedMix;
  std::optional<matc::spec::Mix> selectedDraftMix;
  std::unique_ptr<WeightStore> weights;
  std::unique_ptr<WeightStore> draftWeights;
  std::unique_ptr<ModelRunner> modelRunner;
};

} // namespace matrt

#endif // MATRT_LIB_MODELSESSION_H

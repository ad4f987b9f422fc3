// The C API of matrt/matrt.h over the runtime core: a model is its
// manifest, its weights and one ModelRunner. Every failure becomes a status
// and a thread-local message; nothing here aborts the host.

#include "matrt/matrt.h"

#include "OptionalEntryPoints.h"

#include "matrt/Evaluation.h"
#include "matrt/Generation.h"
#include "matrt/Manifest.h"
#include "matrt/MixSelection.h"
#include "matrt/ModelAbi.h"
#include "matrt/ModelRunner.h"
#include "matrt/Tokens.h"
#include "matrt/TrainingRun.h"
#include "matrt/WeightStore.h"

#include <algorithm>
#include <cmath>
#include <dlfcn.h>
#include <functional>
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

// The model linked into the same library, when there is one (an
// `--emit lib` library); null in libmatrt.so.
extern "C" {
__attribute__((weak)) extern const char matc_model_manifest[];
__attribute__((weak)) matrt::ForwardSignature matc_model_forward;
}

using matc::spec::Diagnostics;

struct matrt_model {
  void *library = nullptr;
  std::optional<matrt::Manifest> manifest;
  matrt::CompiledModel compiled;
  std::unique_ptr<matrt::WeightStore> weights;
  // After the first matrt_train_step: the trainable copy of the weights and
  // AdamW's state, which the runner then reads instead of `weights`.
  std::unique_ptr<matrt::TrainingRun> training;
  std::unique_ptr<matrt::ModelRunner> runner;
  std::string mixText;

  ~matrt_model() {
    runner.reset();
    training.reset();
    weights.reset();
    manifest.reset();
    if (library)
      dlclose(library);
  }
};

namespace {

thread_local std::string lastError;

matrt_status fail(matrt_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

// The errors of `diags` as one message (warnings are left out).
std::string errorsOf(const Diagnostics &diags) {
  std::string text;
  for (const matc::spec::Diagnostic &d : diags.all()) {
    if (d.severity != matc::spec::Diagnostic::Severity::Error)
      continue;
    if (!text.empty())
      text += '\n';
    text += d.message;
  }
  return text.empty() ? "unknown error" : text;
}

matrt_status fail(matrt_status status, const Diagnostics &diags) {
  return fail(status, errorsOf(diags));
}

bool fileExists(const char *path) {
  struct stat info;
  return stat(path, &info) == 0;
}

matrt_status checkTokens(const matrt_model *model, const int32_t *tokens,
                         size_t count, const char *what) {
  if (!tokens || count == 0)
    return fail(MATRT_ERROR_INVALID_ARGUMENT,
                std::string(what) + ": no tokens given");
  Diagnostics diags;
  std::vector<int32_t> list(tokens, tokens + count);
  if (!matrt::checkTokenRange(list, model->manifest->vocabSize, what, diags))
    return fail(MATRT_ERROR_TOKENS, diags);
  return MATRT_OK;
}

} // namespace

extern "C" {

int matrt_api_version(void) { return MATRT_API_VERSION; }

const char *matrt_status_name(matrt_status status) {
  switch (status) {
  case MATRT_OK:
    return "MATRT_OK";
  case MATRT_ERROR_INVALID_ARGUMENT:
    return "MATRT_ERROR_INVALID_ARGUMENT";
  case MATRT_ERROR_FILE:
    return "MATRT_ERROR_FILE";
  case MATRT_ERROR_MODEL:
    return "MATRT_ERROR_MODEL";
  case MATRT_ERROR_WEIGHTS:
    return "MATRT_ERROR_WEIGHTS";
  case MATRT_ERROR_MIX:
    return "MATRT_ERROR_MIX";
  case MATRT_ERROR_TOKENS:
    return "MATRT_ERROR_TOKENS";
  case MATRT_ERROR_NOT_COMPILED_WITH_TRAIN:
    return "MATRT_ERROR_NOT_COMPILED_WITH_TRAIN";
  case MATRT_ERROR_VERSION:
    return "MATRT_ERROR_VERSION";
  }
  return "MATRT_ERROR_UNKNOWN";
}

const char *matrt_last_error(void) { return lastError.c_str(); }

matrt_status matrt_open(int api_version, const char *library,
                        const char *weights, const char *mix,
                        matrt_model **model) {
  lastError.clear();
  if (api_version / 100 != MATRT_API_VERSION_MAJOR)
    return fail(MATRT_ERROR_VERSION,
                "the program was built for matrt API version " +
                    std::to_string(api_version) + ", this runtime has " +
                    std::to_string(MATRT_API_VERSION));
  if (!model)
    return fail(MATRT_ERROR_INVALID_ARGUMENT, "model: null");
  *model = nullptr;
  if (!weights)
    return fail(MATRT_ERROR_INVALID_ARGUMENT, "weights: null");

  auto opened = std::make_unique<matrt_model>();
  matrt::CompiledModel compiled;
  if (library) {
    if (!fileExists(library))
      return fail(MATRT_ERROR_FILE,
                  std::string(library) + ": no such file");
    opened->library = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!opened->library) {
      const char *why = dlerror();
      return fail(MATRT_ERROR_FILE, std::string(library) +
                                        ": cannot be loaded: " +
                                        (why ? why : "unknown reason"));
    }
    compiled.manifestText = static_cast<const char *>(
        dlsym(opened->library, matc::abi::kManifestSymbol));
    compiled.forward = reinterpret_cast<matc::abi::ForwardFn>(
        dlsym(opened->library, matc::abi::kForwardSymbol));
    compiled.loss = reinterpret_cast<matc::abi::LossFn>(
        dlsym(opened->library, matc::abi::kLossSymbol));
    compiled.trainStep = reinterpret_cast<matc::abi::TrainStepFn>(
        dlsym(opened->library, matc::abi::kTrainStepSymbol));
    compiled.gradSquaredNorm = reinterpret_cast<matc::abi::GradSquaredNormFn>(
        dlsym(opened->library, matc::abi::kGradSquaredNormSymbol));
    compiled.adamwStep = reinterpret_cast<matc::abi::AdamWStepFn>(
        dlsym(opened->library, matc::abi::kAdamWStepSymbol));
    if (!compiled.manifestText || !compiled.forward)
      return fail(MATRT_ERROR_MODEL,
                  std::string(library) +
                      ": not a model compiled by matc (no " +
                      matc::abi::kManifestSymbol + " or " +
                      matc::abi::kForwardSymbol +
                      "); compile one with matc compile --emit lib");
  } else {
    compiled.manifestText = matc_model_manifest;
    compiled.forward = &matc_model_forward;
    matrt::linkOptionalEntryPoints(compiled);
    if (!compiled.manifestText || !compiled.forward)
      return fail(MATRT_ERROR_INVALID_ARGUMENT,
                  "library: null, but no model is linked into this "
                  "runtime; pass the path of a library made by matc "
                  "compile --emit lib");
  }

  Diagnostics manifestDiags(library ? library : "compiled model manifest");
  opened->manifest = matrt::parseManifest(compiled.manifestText, manifestDiags);
  if (!opened->manifest)
    return fail(MATRT_ERROR_MODEL, manifestDiags);

  Diagnostics mixDiags;
  std::optional<matc::spec::Mix> selected =
      matrt::selectMix(*opened->manifest, mix ? mix : "", mixDiags, "mix");
  if (!selected)
    return fail(MATRT_ERROR_MIX, mixDiags);

  if (!fileExists(weights))
    return fail(MATRT_ERROR_FILE, std::string(weights) + ": no such file");
  Diagnostics weightDiags;
  opened->weights =
      matrt::WeightStore::load(weights, *opened->manifest, weightDiags);
  if (!opened->weights)
    return fail(MATRT_ERROR_WEIGHTS, weightDiags);

  Diagnostics runnerDiags;
  opened->runner = matrt::ModelRunner::create(
      *opened->manifest, compiled.forward, opened->weights->pointers(),
      runnerDiags, compiled.loss);
  if (!opened->runner)
    return fail(MATRT_ERROR_MODEL, runnerDiags);
  if (!opened->runner->setMix(*selected, runnerDiags))
    return fail(MATRT_ERROR_MIX, runnerDiags);
  opened->mixText = matc::spec::formatMix(*selected);
  opened->compiled = compiled;
  *model = opened.release();
  return MATRT_OK;
}

void matrt_close(matrt_model *model) { delete model; }

int64_t matrt_vocab_size(const matrt_model *model) {
  return model ? model->manifest->vocabSize : 0;
}

int64_t matrt_max_positions(const matrt_model *model) {
  return model ? model->manifest->maxPositions : 0;
}

int64_t matrt_num_layers(const matrt_model *model) {
  return model ? model->manifest->spec.numLayers : 0;
}

int matrt_is_elastic(const matrt_model *model) {
  return model && model->manifest->elastic ? 1 : 0;
}

const char *matrt_mix(const matrt_model *model) {
  return model ? model->mixText.c_str() : "";
}

matrt_status matrt_set_mix(matrt_model *model, const char *mix) {
  lastError.clear();
  if (!model || !mix)
    return fail(MATRT_ERROR_INVALID_ARGUMENT, "model or mix: null");
  Diagnostics diags;
  std::optional<matc::spec::Mix> selected =
      matrt::selectMix(*model->manifest, mix, diags, "mix");
  if (!selected || !model->runner->setMix(*selected, diags))
    return fail(MATRT_ERROR_MIX, diags);
  model->mixText = matc::spec::formatMix(*selected);
  return MATRT_OK;
}

matrt_status matrt_forward(matrt_model *model, const int32_t *tokens,
                           size_t num_tokens, float *logits) {
  lastError.clear();
  if (!model || !logits)
    return fail(MATRT_ERROR_INVALID_ARGUMENT, "model or logits: null");
  if (matrt_status status = checkTokens(model, tokens, num_tokens, "tokens"))
    return status;
  if (static_cast<int64_t>(num_tokens) > model->manifest->maxPositions)
    return fail(MATRT_ERROR_TOKENS,
                "tokens: " + std::to_string(num_tokens) +
                    " tokens, more than the model's max_positions (" +
                    std::to_string(model->manifest->maxPositions) + ")");
  matrt::ModelRunner &runner = *model->runner;
  runner.reset();
  Diagnostics diags;
  if (!runner.run(std::vector<int32_t>(tokens, tokens + num_tokens), diags,
                  matrt::LogitRows::All))
    return fail(MATRT_ERROR_TOKENS, diags);
  const std::vector<float> &rows = runner.logits();
  std::copy(rows.begin(), rows.end(), logits);
  return MATRT_OK;
}

matrt_status matrt_generate(matrt_model *model, const int32_t *prompt,
                            size_t prompt_length, int64_t max_new_tokens,
                            const matrt_sampling *sampling,
                            matrt_token_callback on_token, void *user_data,
                            int32_t *out_tokens, size_t *num_generated) {
  lastError.clear();
  if (num_generated)
    *num_generated = 0;
  if (!model)
    return fail(MATRT_ERROR_INVALID_ARGUMENT, "model: null");
  if (max_new_tokens < 0)
    return fail(MATRT_ERROR_INVALID_ARGUMENT,
                "max_new_tokens: negative (" + std::to_string(max_new_tokens) +
                    ")");
  if (matrt_status status = checkTokens(model, prompt, prompt_length, "prompt"))
    return status;
  if (static_cast<int64_t>(prompt_length) > model->manifest->maxPositions)
    return fail(MATRT_ERROR_TOKENS,
                "prompt: " + std::to_string(prompt_length) +
                    " tokens, more than the model's max_positions (" +
                    std::to_string(model->manifest->maxPositions) + ")");
  matrt::GenerationOptions options;
  options.maxNewTokens = max_new_tokens;
  if (sampling) {
    if (sampling->temperature < 0 || sampling->top_k < 0)
      return fail(MATRT_ERROR_INVALID_ARGUMENT,
                  "sampling: temperature and top_k must not be negative");
    options.sampling.temperature = sampling->temperature;
    options.sampling.topK = sampling->top_k;
    options.sampling.seed = sampling->seed;
  }
  matrt::GenerationResult result;
  Diagnostics diags;
  std::function<void(int32_t)> callback;
  if (on_token)
    callback = [&](int32_t token) { on_token(token, user_data); };
  if (!matrt::generate(*model->runner,
                       std::vector<int32_t>(prompt, prompt + prompt_length),
                       options, result, diags, callback))
    return fail(MATRT_ERROR_TOKENS, diags);
  if (out_tokens)
    std::copy(result.tokens.begin(), result.tokens.end(), out_tokens);
  if (num_generated)
    *num_generated = result.tokens.size();
  return MATRT_OK;
}

matrt_status matrt_eval_loss(matrt_model *model, const int32_t *tokens,
                             size_t num_tokens, int64_t seq_len,
                             double *mean_loss, int64_t *num_scored) {
  lastError.clear();
  if (!model || !mean_loss)
    return fail(MATRT_ERROR_INVALID_ARGUMENT, "model or mean_loss: null");
  if (matrt_status status = checkTokens(model, tokens, num_tokens, "tokens"))
    return status;
  if (num_tokens < 2)
    return fail(MATRT_ERROR_TOKENS,
                "tokens: the loss needs at least 2 tokens, got 1");
  int64_t maxPositions = model->manifest->maxPositions;
  if (seq_len == 0)
    seq_len = maxPositions;
  if (seq_len < 1 || seq_len > maxPositions)
    return fail(MATRT_ERROR_INVALID_ARGUMENT,
                "seq_len: " + std::to_string(seq_len) +
                    " is outside [1, max_positions = " +
                    std::to_string(maxPositions) + "]");
  matrt::ModelRunner &runner = *model->runner;
  int64_t vocab = model->manifest->vocabSize;
  int64_t total = static_cast<int64_t>(num_tokens);
  double loss = 0;
  int64_t scored = 0;
  Diagnostics diags;
  // Window w runs [w * seq_len, ...) and predicts the token after each.
  for (int64_t begin = 0; begin + 1 < total; begin += seq_len) {
    int64_t length = std::min(seq_len, total - 1 - begin);
    if (runner.hasLoss()) {
      double windowLoss = 0;
      if (!runner.sequenceLoss(std::vector<int32_t>(tokens + begin,
                                                    tokens + begin + length +
                                                        1),
                               windowLoss, diags))
        return fail(MATRT_ERROR_TOKENS, diags);
      loss += windowLoss;
    } else {
      // A model of ABI 3, without the generated loss (see Evaluation.h).
      runner.reset();
      if (!runner.run(std::vector<int32_t>(tokens + begin,
                                           tokens + begin + length),
                      diags, matrt::LogitRows::All))
        return fail(MATRT_ERROR_TOKENS, diags);
      for (int64_t i = 0; i < length; ++i)
        loss += matrt::tokenCrossEntropy(runner.rowLogits(i), vocab,
                                         tokens[begin + i + 1]);
    }
    scored += length;
  }
  runner.reset();
  *mean_loss = loss / static_cast<double>(scored);
  if (num_scored)
    *num_scored = scored;
  return MATRT_OK;
}

matrt_status matrt_train_step(matrt_model *model, const int32_t *tokens,
                              size_t num_tokens, double learning_rate,
                              double *loss) {
  lastError.clear();
  if (!model)
    return fail(MATRT_ERROR_INVALID_ARGUMENT, "model: null");
  if (!model->compiled.canTrain())
    return fail(MATRT_ERROR_NOT_COMPILED_WITH_TRAIN,
                "this model has no training entry points: compile it with "
                "matc compile --train (matc_set_train in the compiler's C "
                "API)");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    return fail(MATRT_ERROR_INVALID_ARGUMENT,
                "learning_rate: " + std::to_string(learning_rate) +
                    "; expected a finite number > 0");
  if (matrt_status status = checkTokens(model, tokens, num_tokens, "tokens"))
    return status;
  const matrt::Manifest &manifest = *model->manifest;
  int64_t length = static_cast<int64_t>(num_tokens);
  if (length < 2 || length - 1 > manifest.maxPositions)
    return fail(MATRT_ERROR_TOKENS,
                "tokens: " + std::to_string(num_tokens) +
                    " tokens; a training sequence needs 2 to max_positions "
                    "+ 1 (" +
                    std::to_string(manifest.maxPositions + 1) + ")");

  if (!model->training) {
    // The joint loss of every granularity with the spec's weights, the
    // defaults of `OUT train` otherwise; the learning rate is the caller's.
    matrt::TrainingSettings settings;
    settings.batch = 1;
    settings.seqLen = length - 1;
    settings.lossWeights = manifest.spec.lossWeights;
    Diagnostics diags;
    std::unique_ptr<matrt::TrainingRun> run =
        matrt::TrainingRun::create(manifest, model->compiled, settings, diags);
    if (!run)
      return fail(MATRT_ERROR_MODEL, diags);
    run->parameters().copyWeightsFrom(model->weights->pointers());
    std::unique_ptr<matrt::ModelRunner> runner = matrt::ModelRunner::create(
        manifest, model->compiled.forward, run->parameters().weights(), diags,
        model->compiled.loss);
    if (!runner || !runner->setMix(model->runner->mix(), diags))
      return fail(MATRT_ERROR_MODEL, diags);
    model->training = std::move(run);
    model->runner = std::move(runner);
  }
  Diagnostics diags;
  matrt::StepResult result;
  if (!model->training->stepOn(tokens, 1, length, learning_rate, result, diags))
    return fail(MATRT_ERROR_INVALID_ARGUMENT, diags);
  model->runner->reset();
  if (loss) {
    const std::vector<double> &weights =
        model->training->settings().lossWeights;
    double total = 0;
    for (std::size_t i = 0; i < result.losses.size(); ++i)
      if (weights[i] != 0)
        total += weights[i] * result.losses[i];
    *loss = total;
  }
  return MATRT_OK;
}

} // extern "C"

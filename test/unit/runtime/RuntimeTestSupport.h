#ifndef MATC_TEST_UNIT_RUNTIME_RUNTIMETESTSUPPORT_H
#define MATC_TEST_UNIT_RUNTIME_RUNTIMETESTSUPPORT_H

// A toy "compiled model" for the runtime's tests: a manifest and a plain-loop
// forward function standing in for the code matc generates, so the runtime's
// bookkeeping (KV cache positions, sampling, the command line) is tested
// without a compiler.

#include "matc/abi/ModelAbi.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matc/spec/ModelSpec.h"
#include "matc/spec/Safetensors.h"
#include "matrt/Manifest.h"
#include "matrt/ModelAbi.h"
#include "matrt/ModelRunner.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace matc::test {

// vocab 256 (bytes), hidden 8, 2 layers, 2 heads of 4, 1 KV head, d_ff 16
// with granularities 2, 4, 8, 16, 16 positions.
constexpr int64_t kToyHidden = 8;
constexpr int64_t kToyMaxPositions = 16;

inline nlohmann::ordered_json toyConfig(int64_t vocab = 256) {
  return {{"vocab_size", vocab},
          {"hidden_size", kToyHidden},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 2},
          {"num_key_value_heads", 1},
          {"intermediate_size", 16},
          {"max_position_embeddings", kToyMaxPositions}};
}

// The cache layers of a toy binary: both layers when elastic, else the
// layers `mix` keeps (a mix that does not parse gets 2, for tests of
// manifests that are broken otherwise).
inline int64_t toyCacheLayers(const std::string &mix) {
  if (mix == "elastic")
    return 2;
  spec::Diagnostics diags;
  std::optional<spec::ModelSpec> toySpec =
      spec::parseModelSpec(toyConfig().dump(), diags);
  std::optional<spec::Mix> parsed =
      toySpec ? spec::parseMix(mix, *toySpec, diags) : std::nullopt;
  if (!parsed)
    return 2;
  int64_t kept = 0;
  for (const spec::LayerChoice &layer : *parsed)
    kept += layer.skip ? 0 : 1;
  return kept;
}

// The toy forward reads two weights: the embedding and the final norm. Its
// buffers are shaped as the compiler shapes them: K [layers, positions,
// kv_heads, head_dim], V positions innermost; the toy itself only relies on
// each cache holding kToyMaxPositions x 4 floats for layer 0.
inline nlohmann::ordered_json toyManifestJson(const std::string &mix = "16,16",
                                              const std::string &dtype = "F32",
                                              int64_t vocab = 256) {
  int64_t layers = toyCacheLayers(mix);
  nlohmann::ordered_json manifest = {
      {"matc_abi", abi::kVersion},
      {"config", toyConfig(vocab)},
      {"mix", mix},
      {"elastic", mix == "elastic"},
      {"weight_dtype", dtype},
      {"weights",
       {{{"name", "model.embed_tokens.weight"}, {"shape", {vocab, kToyHidden}}},
        {{"name", "model.norm.weight"}, {"shape", {kToyHidden}}}}},
      {"buffers",
       {{"tokens", {{"dtype", "i32"}, {"shape", {kToyMaxPositions}}}},
        {"logits",
         {{"dtype", "f32"}, {"shape", {kToyMaxPositions, vocab}}}},
        {"k_cache",
         {{"dtype", "f32"}, {"shape", {layers, kToyMaxPositions, 1, 4}}}},
        {"v_cache",
         {{"dtype", "f32"}, {"shape", {layers, 1, 4, kToyMaxPositions}}}},
        {"layer_widths", {{"dtype", "i64"}, {"shape", {2}}}}}},
      {"vocab_size", vocab},
      {"max_positions", kToyMaxPositions}};
  return manifest;
}

inline std::string toyManifest(const std::string &mix = "16,16",
                               const std::string &dtype = "F32",
                               int64_t vocab = 256) {
  return toyManifestJson(mix, dtype, vocab).dump();
}

// What the toy forward saw, for checks on the runtime's calls.
struct ToyCall {
  int64_t numTokens;
  int64_t startPos;
  int64_t numLogits;
  std::vector<int64_t> layerWidths;
};
inline std::vector<ToyCall> &toyCalls() {
  static std::vector<ToyCall> calls;
  return calls;
}
inline int64_t &toyVocab() {
  static int64_t vocab = 256;
  return vocab;
}
inline bool &toyPreconditionViolated() {
  static bool violated = false;
  return violated;
}
inline void resetToy(int64_t vocab = 256) {
  toyCalls().clear();
  toyVocab() = vocab;
  toyPreconditionViolated() = false;
}

// How far a toy mix is from the full model (both layers at width 16): per
// layer 16 - width, and 17 for a skipped layer.
inline int64_t toyDeficit(const std::vector<int64_t> &layerWidths) {
  int64_t deficit = 0;
  for (int64_t width : layerWidths)
    deficit += width < 0 ? 17 : 16 - width;
  return deficit;
}

// What a smaller mix gets wrong: its prediction for the token after
// `position` is one more than the full model's at every period-th position,
// period = 1 + deficit % 5 (so a deficit of 5 is wrong everywhere, 1 at
// every other position, 3 at every fourth, ...).
inline int64_t toyMixError(const std::vector<int64_t> &layerWidths,
                           int64_t position) {
  int64_t deficit = toyDeficit(layerWidths);
  if (deficit == 0)
    return 0;
  return position % (1 + deficit % 5) == 0 ? 1 : 0;
}

// Each token is stored in the K cache (layer 0, its position, element 0).
// Its logits row is norm[0] at index (sum of the cached tokens at positions
// 0..p + embed[token][0] + toyMixError(widths, p)) mod vocab and 0
// elsewhere: the prediction depends on the whole cached history, so decoding
// is only right if the runtime keeps the cache between calls and passes the
// right start_pos, and on the widths of this very call. As the ABI says,
// only the rows of the last numLogits tokens are written, as
// logits[numLogits][vocab].
inline void toyForward(int64_t numTokens, int64_t startPos, int64_t numLogits,
                       const int32_t *tokens, float *logits, float *kCache,
                       float *vCache, const int64_t *layerWidths,
                       void *const *weights) {
  std::vector<int64_t> widths(layerWidths, layerWidths + 2);
  toyCalls().push_back({numTokens, startPos, numLogits, widths});
  int64_t vocab = toyVocab();
  const int64_t rowFloats = 1 * 4; // kv_heads * head_dim
  if (numTokens < 1 || startPos + numTokens > kToyMaxPositions ||
      numLogits < 1 || numLogits > numTokens) {
    toyPreconditionViolated() = true;
    return;
  }
  for (int64_t width : widths)
    if (width < -1 || width > 16)
      toyPreconditionViolated() = true;
  const float *embed = static_cast<const float *>(weights[0]);
  const float *norm = static_cast<const float *>(weights[1]);
  for (int64_t i = 0; i < numTokens; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      toyPreconditionViolated() = true;
      return;
    }
    int64_t position = startPos + i;
    kCache[position * rowFloats] = static_cast<float>(tokens[i]);
    vCache[position * rowFloats] = static_cast<float>(position);
    int64_t sum = static_cast<int64_t>(embed[tokens[i] * kToyHidden]) +
                  toyMixError(widths, position);
    for (int64_t p = 0; p <= position; ++p)
      sum += static_cast<int64_t>(kCache[p * rowFloats]);
    int64_t row = i - (numTokens - numLogits);
    if (row < 0)
      continue;
    for (int64_t v = 0; v < vocab; ++v)
      logits[row * vocab + v] = v == sum % vocab ? norm[0] : 0.0f;
  }
}
static_assert(std::is_same_v<decltype(&toyForward), abi::ForwardFn>);

// The toy's greedy next token after `sequence` (zero embedding), under the
// full mix or the one `layerWidths` gives.
inline int64_t
toyPrediction(const std::vector<int32_t> &sequence, int64_t vocab = 256,
              const std::vector<int64_t> &layerWidths = {16, 16}) {
  int64_t sum = 0;
  for (int32_t token : sequence)
    sum += token;
  sum += toyMixError(layerWidths, static_cast<int64_t>(sequence.size()) - 1);
  return sum % vocab;
}

// Writes the toy weights: an all-zero embedding and a norm of ones, so the
// toy's logits are one-hot.
inline bool writeToyWeights(const std::string &path,
                            spec::DType dtype = spec::DType::F32,
                            int64_t vocab = 256) {
  std::vector<float> embed(vocab * kToyHidden, 0.0f);
  std::vector<float> norm(kToyHidden, 1.0f);
  std::vector<uint16_t> embed16, norm16;
  std::vector<spec::TensorData> tensors;
  if (dtype == spec::DType::F32) {
    tensors = {{"model.embed_tokens.weight",
                dtype,
                {vocab, kToyHidden},
                embed.data(),
                embed.size() * 4},
               {"model.norm.weight",
                dtype,
                {kToyHidden},
                norm.data(),
                norm.size() * 4}};
  } else {
    for (float f : embed)
      embed16.push_back(spec::floatToBf16(f));
    for (float f : norm)
      norm16.push_back(spec::floatToBf16(f));
    tensors = {{"model.embed_tokens.weight",
                dtype,
                {vocab, kToyHidden},
                embed16.data(),
                embed16.size() * 2},
               {"model.norm.weight",
                dtype,
                {kToyHidden},
                norm16.data(),
                norm16.size() * 2}};
  }
  spec::Diagnostics diags(path);
  return spec::writeSafetensors(path, tensors, {}, diags);
}

// Runners over a toy binary with in-memory weights: embedding 0 and a norm
// whose first entry is the toy's one-hot logit (1 unless set).
class ToyModel {
public:
  explicit ToyModel(const std::string &mix = "16,16", float logit = 1.0f)
      : embed(256 * kToyHidden, 0.0f), norm(kToyHidden, logit) {
    resetToy();
    spec::Diagnostics diags;
    std::optional<matrt::Manifest> parsed =
        matrt::parseManifest(toyManifest(mix), diags);
    EXPECT_TRUE(parsed) << diags.str();
    if (parsed)
      manifest = *parsed;
    pointers = {embed.data(), norm.data()};
  }
  ~ToyModel() { EXPECT_FALSE(toyPreconditionViolated()); }

  // A runner with a cache of its own, set to `mix` (MIX text; empty: the
  // manifest's mix).
  std::unique_ptr<matrt::ModelRunner> runner(const std::string &mix = "") {
    spec::Diagnostics diags;
    std::unique_ptr<matrt::ModelRunner> created = matrt::ModelRunner::create(
        manifest, toyForward, pointers.data(), diags);
    std::optional<spec::Mix> parsed =
        mix.empty() ? std::optional<spec::Mix>(manifest.mix)
                    : spec::parseMix(mix, manifest.spec, diags);
    EXPECT_TRUE(created && parsed && created->setMix(*parsed, diags))
        << diags.str();
    return created;
  }

  std::vector<float> embed, norm;
  std::vector<void *> pointers;
  matrt::Manifest manifest;
};

inline matrt::CompiledModel toyModel(const std::string &manifestText) {
  return matrt::CompiledModel{manifestText.c_str(), toyForward};
}

// A stdio stream whose contents a test can read back.
class CapturedStream {
public:
  CapturedStream() : file(std::tmpfile()) {}
  ~CapturedStream() {
    if (file)
      std::fclose(file);
  }
  CapturedStream(const CapturedStream &) = delete;
  CapturedStream &operator=(const CapturedStream &) = delete;

  std::FILE *get() const { return file; }
  std::string contents() const {
    std::fflush(file);
    std::rewind(file);
    std::string text;
    char buffer[4096];
    std::size_t count;
    while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
      text.append(buffer, count);
    return text;
  }

private:
  std::FILE *file;
};

} // namespace matc::test

#endif // MATC_TEST_UNIT_RUNTIME_RUNTIMETESTSUPPORT_H

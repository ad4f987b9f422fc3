#ifndef MATC_SPEC_MODELSPEC_H
#define MATC_SPEC_MODELSPEC_H

#include "matc/spec/Diagnostics.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace matc::spec {

// The gated FFN's activation: SwiGLU or GeGLU.
enum class Activation { Silu, GeluTanh };

// The Hugging Face `hidden_act` name: "silu" or "gelu_pytorch_tanh".
const char *activationName(Activation act);

// Joint training either runs every granularity on each batch or samples one.
struct SamplingSpec {
  bool all = true;
  std::vector<double> probabilities; // one per granularity when !all
};

// A validated model spec (docs/REFERENCE.md, Model spec). Field names follow
// Hugging Face's LlamaConfig.
struct ModelSpec {
  std::string architecture = "decoder";
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  // One entry per layer; an int `intermediate_size` is broadcast.
  std::vector<int64_t> intermediateSize;
  // True when `intermediate_size` was a list (an extracted submodel).
  bool perLayerIntermediate = false;
  int64_t maxPositions = 2048;
  double rmsNormEps = 1e-5;
  double ropeTheta = 10000;
  Activation act = Activation::Silu;
  bool tieWordEmbeddings = false;
  // Nested FFN widths; empty when unknown (a per-layer spec that declares no
  // `matformer.granularities`).
  std::vector<int64_t> granularities;
  // `matformer.mix` as MIX text; the object form is stored as its JSON text.
  // A per-layer spec without `matformer.mix` defaults to each layer's width.
  std::string defaultMix = "XL";
  std::vector<double> lossWeights; // one per granularity
  SamplingSpec sampling;

  // The largest FFN width of any layer: d_ff of the universal model.
  int64_t dFF() const;
  // HF-style config.json text that parseModelSpec reads back to this spec.
  std::string toJson() const;
};

// Resource limits of a spec (README.md, Hostile inputs), refused by
// parseModelSpec before anything is allocated: at most kMaxLayers layers, and
// the memory one full-context run needs (modelMemoryBytes) at most
// kMaxModelBytes.
inline constexpr int64_t kMaxLayers = 4096;
inline constexpr double kMaxModelBytes = double(int64_t(1) << 40); // 1 TiB

// The bytes one run of the universal model over max_position_embeddings
// tokens needs, in f32 (computed in double, so it cannot overflow): weights,
// the KV caches (2 x layers x max_positions x kv_heads x head_dim), and the
// largest activations (logits max_positions x vocab, attention scores
// heads x max_positions^2, FFN activations 2 x max_positions x d_ff, and
// 4 x max_positions x hidden for the residual stream and projections).
struct ModelMemory {
  double weightBytes = 0;
  double cacheBytes = 0;
  double activationBytes = 0;
  double total() const { return weightBytes + cacheBytes + activationBytes; }
};
ModelMemory modelMemoryBytes(const ModelSpec &spec);

std::optional<ModelSpec> parseModelSpec(const std::string &jsonText,
                                        Diagnostics &diags);
// Reads and parses a spec file. A `matformer.mix` of the form `@file` is
// resolved relative to the spec's directory.
std::optional<ModelSpec> loadModelSpec(const std::string &path,
                                       Diagnostics &diags);

} // namespace matc::spec

#endif // MATC_SPEC_MODELSPEC_H

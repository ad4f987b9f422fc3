#include "matrt/Manifest.h"

#include "matrt/ModelAbi.h"

#include <nlohmann/json.hpp>

#include <limits>

namespace matrt {

using matc::spec::Diagnostics;
// Ordered so that a re-serialized "config" keeps the compiler's key order.
using Json = nlohmann::ordered_json;

namespace {

// Everything below uses nlohmann's non-throwing accessors: the runtime is
// built with -fno-exceptions, where a throw would abort.

const Json *member(const Json &object, const char *key, Diagnostics &diags) {
  auto found = object.find(key);
  if (found == object.end()) {
    diags.error(key, "missing");
    return nullptr;
  }
  return &*found;
}

std::optional<int64_t> readCount(const Json &object, const char *key,
                                 int64_t min, Diagnostics &diags) {
  const Json *value = member(object, key, diags);
  if (!value)
    return std::nullopt;
  if (!value->is_number_integer() ||
      (value->is_number_unsigned() &&
       value->get<uint64_t>() >
           static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) ||
      value->get<int64_t>() < min) {
    diags.error(key, "expected an integer >= " + std::to_string(min));
    return std::nullopt;
  }
  return value->get<int64_t>();
}

std::optional<std::string> readText(const Json &object, const char *key,
                                    Diagnostics &diags) {
  const Json *value = member(object, key, diags);
  if (!value)
    return std::nullopt;
  if (!value->is_string()) {
    diags.error(key, "expected a string");
    return std::nullopt;
  }
  return value->get<std::string>();
}

std::optional<std::vector<WeightSlot>> readWeights(const Json &object,
                                                   Diagnostics &diags) {
  const Json *list = member(object, "weights", diags);
  if (!list)
    return std::nullopt;
  if (!list->is_array()) {
    diags.error("weights", "expected a list of {name, shape}");
    return std::nullopt;
  }
  std::vector<WeightSlot> weights;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json &entry = (*list)[i];
    std::string where = "weights[" + std::to_string(i) + "]";
    if (!entry.is_object() || !entry.contains("name") ||
        !entry["name"].is_string() || !entry.contains("shape") ||
        !entry["shape"].is_array()) {
      diags.error(where, "expected {\"name\": string, \"shape\": [ints]}");
      return std::nullopt;
    }
    WeightSlot slot;
    slot.name = entry["name"].get<std::string>();
    for (const Json &dim : entry["shape"]) {
      if (!dim.is_number_unsigned() ||
          dim.get<uint64_t>() > (uint64_t(1) << 40)) {
        diags.error(where, slot.name + ": expected non-negative dimensions");
        return std::nullopt;
      }
      slot.shape.push_back(dim.get<int64_t>());
    }
    weights.push_back(std::move(slot));
  }
  return weights;
}

std::optional<KvCacheShape> readKvCache(const Json &object,
                                        Diagnostics &diags) {
  const Json *cache = member(object, "kv_cache", diags);
  if (!cache)
    return std::nullopt;
  if (!cache->is_object()) {
    diags.error("kv_cache", "expected an object");
    return std::nullopt;
  }
  // The cache is sized up front, so absurd sizes are caught here rather than
  // as an overflowing multiplication.
  constexpr int64_t limit = int64_t(1) << 20;
  KvCacheShape shape;
  std::optional<int64_t> layers = readCount(*cache, "layers", 0, diags);
  std::optional<int64_t> positions =
      readCount(*cache, "max_positions", 1, diags);
  std::optional<int64_t> heads = readCount(*cache, "kv_heads", 1, diags);
  std::optional<int64_t> headDim = readCount(*cache, "head_dim", 1, diags);
  if (!layers || !positions || !heads || !headDim)
    return std::nullopt;
  if (*layers > limit || *positions > limit || *heads > limit ||
      *headDim > limit) {
    diags.error("kv_cache", "dimensions too large");
    return std::nullopt;
  }
  shape.layers = *layers;
  shape.maxPositions = *positions;
  shape.kvHeads = *heads;
  shape.headDim = *headDim;
  return shape;
}

// The numbers the runtime relies on must agree with the model config;
// disagreement is a compiler bug that would otherwise corrupt memory.
bool checkConsistency(const Manifest &manifest, Diagnostics &diags) {
  std::size_t errorsBefore = diags.errorCount();
  const matc::spec::ModelSpec &spec = manifest.spec;
  if (manifest.vocabSize != spec.vocabSize)
    diags.error("vocab_size", std::to_string(manifest.vocabSize) +
                                  " differs from config.vocab_size " +
                                  std::to_string(spec.vocabSize));
  if (manifest.maxPositions != manifest.kvCache.maxPositions)
    diags.error("max_positions",
                std::to_string(manifest.maxPositions) +
                    " differs from kv_cache.max_positions " +
                    std::to_string(manifest.kvCache.maxPositions));
  if (manifest.kvCache.kvHeads != spec.numKvHeads)
    diags.error("kv_cache.kv_heads",
                std::to_string(manifest.kvCache.kvHeads) +
                    " differs from config.num_key_value_heads " +
                    std::to_string(spec.numKvHeads));
  if (manifest.kvCache.headDim != spec.headDim)
    diags.error("kv_cache.head_dim", std::to_string(manifest.kvCache.headDim) +
                                         " differs from config.head_dim " +
                                         std::to_string(spec.headDim));
  return diags.errorCount() == errorsBefore;
}

// The forward function writes one cache slot per layer it runs: every layer
// of the spec in an elastic binary (a skipped layer leaves its slot alone),
// the kept layers of the compiled mix otherwise. A smaller cache would be
// written out of bounds.
bool checkCacheLayers(const Manifest &manifest, Diagnostics &diags) {
  int64_t expected = manifest.spec.numLayers;
  if (!manifest.elastic) {
    expected = 0;
    for (const matc::spec::LayerChoice &layer : manifest.mix)
      expected += layer.skip ? 0 : 1;
  }
  if (manifest.kvCache.layers == expected)
    return true;
  diags.error("kv_cache.layers",
              std::to_string(manifest.kvCache.layers) + " differs from " +
                  (manifest.elastic
                       ? "config.num_hidden_layers "
                       : "the kept layers of mix " + manifest.mixText + ", ") +
                  std::to_string(expected));
  return false;
}

} // namespace

std::optional<Manifest> parseManifest(const std::string &text,
                                      Diagnostics &diags) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    diags.error("", "the compiled model's manifest is not a JSON object");
    return std::nullopt;
  }
  std::size_t errorsBefore = diags.errorCount();
  std::optional<int64_t> abi = readCount(root, "matc_abi", 0, diags);
  if (abi && *abi != kModelAbiVersion) {
    diags.error("matc_abi", "this runtime implements ABI " +
                                std::to_string(kModelAbiVersion) +
                                ", the compiled model uses " +
                                std::to_string(*abi) +
                                "; link it with a matching runtime");
    return std::nullopt;
  }

  Manifest manifest;
  const Json *config = member(root, "config", diags);
  if (config && !config->is_object())
    diags.error("config", "expected the model config as a JSON object");
  else if (config) {
    std::string configText =
        config->dump(-1, ' ', false, Json::error_handler_t::replace);
    Diagnostics specDiags;
    std::optional<matc::spec::ModelSpec> spec =
        matc::spec::parseModelSpec(configText, specDiags);
    if (spec)
      manifest.spec = *spec;
    else
      for (const matc::spec::Diagnostic &d : specDiags.all())
        if (d.severity == matc::spec::Diagnostic::Severity::Error)
          diags.error("config", d.message);
  }

  std::optional<std::string> mix = readText(root, "mix", diags);
  std::optional<std::string> dtype = readText(root, "weight_dtype", diags);
  std::optional<std::vector<WeightSlot>> weights = readWeights(root, diags);
  std::optional<KvCacheShape> kvCache = readKvCache(root, diags);
  std::optional<int64_t> vocab = readCount(root, "vocab_size", 1, diags);
  std::optional<int64_t> positions = readCount(root, "max_positions", 1, diags);
  if (dtype) {
    std::optional<matc::spec::DType> parsed =
        matc::spec::parseDTypeName(*dtype);
    if (!parsed || *parsed == matc::spec::DType::F16)
      diags.error("weight_dtype",
                  "expected \"F32\" or \"BF16\", got \"" + *dtype + "\"");
    else
      manifest.weightDtype = *parsed;
  }
  // Empty would otherwise mean "the spec's default mix" to parseMix, and a
  // binary whose compiled mix is unknown cannot check --mix against it.
  if (mix && mix->empty())
    diags.error("mix", "empty: expected the compiled mix (formatMix text) or "
                       "\"elastic\"");
  if (diags.errorCount() != errorsBefore)
    return std::nullopt;

  manifest.mixText = *mix;
  manifest.elastic = *mix == "elastic";
  // "elastic": true accompanies "mix": "elastic"; older manifests omit it.
  if (auto flag = root.find("elastic"); flag != root.end()) {
    if (!flag->is_boolean() || flag->get<bool>() != manifest.elastic) {
      diags.error("elastic", manifest.elastic
                                 ? "expected true, since \"mix\" is "
                                   "\"elastic\""
                                 : "expected false or absent, since \"mix\" "
                                   "is the compiled mix " +
                                       manifest.mixText);
      return std::nullopt;
    }
  }
  manifest.weights = std::move(*weights);
  manifest.kvCache = *kvCache;
  manifest.vocabSize = *vocab;
  manifest.maxPositions = *positions;
  if (!checkConsistency(manifest, diags))
    return std::nullopt;

  // The compiled mix was checked by the compiler; its warnings (say, an
  // untrained width) were shown then and would only be noise on every run.
  Diagnostics mixDiags;
  std::optional<matc::spec::Mix> compiledMix =
      matc::spec::parseMix(manifest.elastic ? std::string() : manifest.mixText,
                           manifest.spec, mixDiags);
  if (!compiledMix) {
    for (const matc::spec::Diagnostic &d : mixDiags.all())
      if (d.severity == matc::spec::Diagnostic::Severity::Error)
        diags.error("mix", d.message);
    return std::nullopt;
  }
  manifest.mix = std::move(*compiledMix);
  if (!checkCacheLayers(manifest, diags))
    return std::nullopt;
  return manifest;
}

} // namespace matrt

#include "matrt/Manifest.h"

#include "matc/abi/ModelAbi.h"

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

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// The product of `factors` (each >= 0), or nullopt when it exceeds
// kMaxBufferElements; a zero factor makes it 0 whatever the others are.
std::optional<int64_t> boundedProduct(const std::vector<int64_t> &factors) {
  int64_t product = 1;
  for (int64_t factor : factors)
    if (factor == 0)
      return 0;
  for (int64_t factor : factors)
    if (__builtin_mul_overflow(product, factor, &product) ||
        product > kMaxBufferElements)
      return std::nullopt;
  return product;
}

// One entry of "buffers": {"dtype": the argument's element type, "shape":
// non-negative dimensions whose product is at most kMaxBufferElements}.
std::optional<BufferSpec> readBuffer(const Json &entry,
                                     const matc::abi::Arg &arg,
                                     Diagnostics &diags) {
  std::string where = std::string("buffers.") + arg.name;
  if (!entry.is_object() || !entry.contains("dtype") ||
      !entry["dtype"].is_string() || !entry.contains("shape") ||
      !entry["shape"].is_array()) {
    diags.error(where, "expected {\"dtype\": string, \"shape\": [ints]}");
    return std::nullopt;
  }
  BufferSpec buffer;
  buffer.dtype = entry["dtype"].get<std::string>();
  if (buffer.dtype != arg.elementType) {
    diags.error(where + ".dtype", "expected \"" +
                                      std::string(arg.elementType) +
                                      "\", got \"" + buffer.dtype + "\"");
    return std::nullopt;
  }
  for (const Json &dim : entry["shape"]) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(kMaxBufferElements)) {
      diags.error(where + ".shape",
                  "expected non-negative integer dimensions, got " +
                      dim.dump(-1, ' ', false,
                               Json::error_handler_t::replace));
      return std::nullopt;
    }
    buffer.shape.push_back(dim.get<int64_t>());
  }
  // The caches are allocated from this count, so an absurd one is refused
  // here rather than as an overflowing multiplication or a huge allocation.
  if (!boundedProduct(buffer.shape)) {
    diags.error(where + ".shape", formatShape(buffer.shape) +
                                      ": more than 2^40 elements");
    return std::nullopt;
  }
  return buffer;
}

// "buffers" holds exactly the buffer arguments of the entry point, by name.
std::optional<std::map<std::string, BufferSpec>>
readBuffers(const Json &object, Diagnostics &diags) {
  const Json *table = member(object, "buffers", diags);
  if (!table)
    return std::nullopt;
  if (!table->is_object()) {
    diags.error("buffers", "expected an object of {\"dtype\", \"shape\"} by "
                           "argument name");
    return std::nullopt;
  }
  std::size_t errorsBefore = diags.errorCount();
  std::map<std::string, BufferSpec> buffers;
  for (const matc::abi::Arg &arg : matc::abi::kForwardArgs) {
    if (arg.kind != matc::abi::ArgKind::Buffer)
      continue;
    auto found = table->find(arg.name);
    if (found == table->end()) {
      diags.error(std::string("buffers.") + arg.name, "missing");
      continue;
    }
    if (std::optional<BufferSpec> buffer = readBuffer(*found, arg, diags))
      buffers.emplace(arg.name, std::move(*buffer));
  }
  // A name the runtime does not pass is a compiler that speaks another ABI.
  for (auto entry = table->begin(); entry != table->end(); ++entry) {
    std::size_t index = matc::abi::forwardArgIndex(entry.key().c_str());
    if (index == matc::abi::kNumForwardArgs ||
        matc::abi::kForwardArgs[index].kind != matc::abi::ArgKind::Buffer)
      diags.error("buffers." + entry.key(),
                  "not a buffer argument of " +
                      std::string(matc::abi::kForwardSymbol) + " in ABI " +
                      std::to_string(matc::abi::kVersion));
  }
  if (diags.errorCount() != errorsBefore)
    return std::nullopt;
  return buffers;
}

// `name`'s shape must be `expected`, which `meaning` spells in manifest terms.
void checkShape(const Manifest &manifest, const char *name,
                const std::vector<int64_t> &expected, const char *meaning,
                Diagnostics &diags) {
  const std::vector<int64_t> &shape = manifest.buffer(name).shape;
  if (shape != expected)
    diags.error(std::string("buffers.") + name + ".shape",
                formatShape(shape) + " differs from " + meaning + " = " +
                    formatShape(expected));
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
  checkShape(manifest, "tokens", {manifest.maxPositions}, "[max_positions]",
             diags);
  checkShape(manifest, "logits", {manifest.maxPositions, manifest.vocabSize},
             "[max_positions, vocab_size]", diags);
  checkShape(manifest, "layer_widths", {spec.numLayers},
             "[config.num_hidden_layers]", diags);
  return diags.errorCount() == errorsBefore;
}

// The forward function writes one cache slot per layer it runs: every layer
// of the spec in an elastic binary (a skipped layer leaves its slot alone),
// the kept layers of the compiled mix otherwise. Each cache holds that many
// slots of max_positions x num_key_value_heads x head_dim elements; a
// smaller one would be written out of bounds. Which dimension is which is
// the generated code's choice, so only the count is checked.
bool checkCacheBuffers(const Manifest &manifest, Diagnostics &diags) {
  const matc::spec::ModelSpec &spec = manifest.spec;
  int64_t layers = spec.numLayers;
  if (!manifest.elastic) {
    layers = 0;
    for (const matc::spec::LayerChoice &layer : manifest.mix)
      layers += layer.skip ? 0 : 1;
  }
  std::optional<int64_t> expected = boundedProduct(
      {layers, manifest.maxPositions, spec.numKvHeads, spec.headDim});
  std::string expectedText =
      (expected ? std::to_string(*expected) : std::string("more than 2^40")) +
      ": " + std::to_string(layers) + " cache layers (" +
      (manifest.elastic ? std::string("config.num_hidden_layers")
                        : "the kept layers of mix " + manifest.mixText) +
      ") x max_positions " + std::to_string(manifest.maxPositions) +
      " x config.num_key_value_heads " + std::to_string(spec.numKvHeads) +
      " x config.head_dim " + std::to_string(spec.headDim);
  bool ok = true;
  for (const char *name : {"k_cache", "v_cache"}) {
    const BufferSpec &cache = manifest.buffer(name);
    if (expected && cache.numElements() == *expected)
      continue;
    diags.error(std::string("buffers.") + name + ".shape",
                formatShape(cache.shape) + " holds " +
                    std::to_string(cache.numElements()) +
                    " elements, expected " + expectedText);
    ok = false;
  }
  return ok;
}

} // namespace

const BufferSpec &Manifest::buffer(const std::string &name) const {
  static const BufferSpec none;
  auto found = buffers.find(name);
  return found == buffers.end() ? none : found->second;
}

std::optional<Manifest> parseManifest(const std::string &text,
                                      Diagnostics &diags) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    diags.error("", "the compiled model's manifest is not a JSON object");
    return std::nullopt;
  }
  std::size_t errorsBefore = diags.errorCount();
  std::optional<int64_t> abi = readCount(root, "matc_abi", 0, diags);
  if (abi && *abi != matc::abi::kVersion) {
    diags.error("matc_abi", "this runtime implements ABI " +
                                std::to_string(matc::abi::kVersion) +
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
  std::optional<std::map<std::string, BufferSpec>> buffers =
      readBuffers(root, diags);
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
  if (auto flag = root.find("train"); flag != root.end()) {
    if (!flag->is_boolean()) {
      diags.error("train", "expected true or false");
      return std::nullopt;
    }
    manifest.train = flag->get<bool>();
  }
  manifest.weights = std::move(*weights);
  manifest.buffers = std::move(*buffers);
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
  if (!checkCacheBuffers(manifest, diags))
    return std::nullopt;
  return manifest;
}

} // namespace matrt

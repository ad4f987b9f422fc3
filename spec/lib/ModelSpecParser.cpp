#include "matc/spec/ModelSpec.h"

#include "HuggingFaceFields.h"
#include "JsonSupport.h"
#include "matc/spec/FileIO.h"
#include "matc/spec/Mix.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace matc::spec {

using json_support::describe;
using json_support::elementPath;
using json_support::Json;
using json_support::memberPath;

namespace {

// Keeps products such as vocab * hidden far from int64 overflow.
constexpr int64_t maxDimension = (int64_t(1) << 31) - 1;

const char *const specFields[] = {
    "architecture",      "vocab_size",          "hidden_size",
    "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "head_dim",          "intermediate_size",   "max_position_embeddings",
    "rms_norm_eps",      "rope_theta",          "rope_parameters",
    "hidden_act",        "tie_word_embeddings", "matformer",
};

const char *const matformerFields[] = {"granularities", "mix", "loss_weights",
                                       "sampling"};

class ModelSpecParser {
public:
  ModelSpecParser(const Json &config, std::string mixBaseDir,
                  Diagnostics &diags)
      : config(config), mixBaseDir(std::move(mixBaseDir)), diags(diags) {}

  std::optional<ModelSpec> parse();

private:
  // Absent and null both mean "use the default", as in Hugging Face configs.
  static const Json *find(const Json &object, const std::string &key);

  void checkTopLevelFields();
  void parseArchitecture();
  void parseShape();
  void parseIntermediateSize();
  void parseNumerics();
  void parseRopeTheta();
  void parseMatformer();
  void parseGranularities(const Json *value);
  void parseLossWeights(const Json *value);
  void parseSampling(const Json *value);
  void parseDefaultMix(const Json *value);
  void validateDefaultMix();
  void checkMemory();

  bool readDimension(const std::string &key, int64_t &result, bool required);
  // A list of one number per granularity, e.g. loss weights.
  std::optional<std::vector<double>>
  readPerGranularity(const Json &value, const std::string &where,
                     const std::string &what);

  const Json &config;
  std::string mixBaseDir;
  Diagnostics &diags;
  ModelSpec spec;
  bool shapeValid = true;
  bool granularitiesValid = true;
};

const Json *ModelSpecParser::find(const Json &object, const std::string &key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null())
    return nullptr;
  return &*it;
}

bool ModelSpecParser::readDimension(const std::string &key, int64_t &result,
                                    bool required) {
  const Json *value = find(config, key);
  if (!value) {
    if (!required)
      return true;
    diags.error(key, "required field missing (expected a positive integer)");
    return false;
  }
  std::optional<int64_t> number =
      json_support::readInteger(*value, key, 1, maxDimension, diags);
  if (number)
    result = *number;
  return number.has_value();
}

void ModelSpecParser::checkTopLevelFields() {
  for (const auto &member : config.items()) {
    const std::string &key = member.key();
    if (json_support::isOneOf(specFields, key) ||
        checkHuggingFaceField(key, member.value(), config, diags))
      continue;
    diags.warning("", "unknown field '" + key + "' ignored");
  }
}

void ModelSpecParser::parseArchitecture() {
  const Json *value = find(config, "architecture");
  if (!value)
    return;
  std::optional<std::string> name =
      json_support::readString(*value, "architecture", diags);
  if (!name)
    return;
  if (*name == "encoder")
    diags.error("architecture", "\"encoder\" (MatViT) is not supported yet; "
                                "expected \"decoder\"");
  else if (*name != "decoder")
    diags.error("architecture",
                "expected \"decoder\", got " + describe(*value));
  else
    spec.architecture = *name;
}

void ModelSpecParser::parseShape() {
  shapeValid &= readDimension("vocab_size", spec.vocabSize, true);
  shapeValid &= readDimension("hidden_size", spec.hiddenSize, true);
  shapeValid &= readDimension("num_hidden_layers", spec.numLayers, true);
  if (spec.numLayers > kMaxLayers) {
    // Refused before any per-layer list is allocated.
    diags.error("num_hidden_layers",
                std::to_string(spec.numLayers) + " exceeds the limit of " +
                    std::to_string(kMaxLayers) + " layers");
    spec.numLayers = 0;
    shapeValid = false;
  }
  bool headsValid = readDimension("num_attention_heads", spec.numHeads, true);
  shapeValid &= headsValid;

  spec.numKvHeads = spec.numHeads;
  if (readDimension("num_key_value_heads", spec.numKvHeads, false)) {
    if (headsValid && spec.numHeads % spec.numKvHeads != 0) {
      diags.error("num_key_value_heads", "must divide num_attention_heads " +
                                             std::to_string(spec.numHeads) +
                                             ", got " +
                                             std::to_string(spec.numKvHeads));
      shapeValid = false;
    }
  } else {
    shapeValid = false;
  }

  if (find(config, "head_dim")) {
    shapeValid &= readDimension("head_dim", spec.headDim, false);
  } else if (headsValid && spec.hiddenSize > 0) {
    if (spec.hiddenSize % spec.numHeads != 0) {
      diags.error("num_attention_heads",
                  "must divide hidden_size " + std::to_string(spec.hiddenSize) +
                      " when head_dim is not given, got " +
                      std::to_string(spec.numHeads));
      shapeValid = false;
    } else {
      spec.headDim = spec.hiddenSize / spec.numHeads;
    }
  }
  // RoPE's rotate-half layout pairs element j with element j + head_dim/2.
  if (spec.headDim % 2 != 0) {
    diags.error(find(config, "head_dim") ? "head_dim" : "num_attention_heads",
                "head_dim " + std::to_string(spec.headDim) +
                    " must be even for rotary position embeddings");
    shapeValid = false;
  }
}

void ModelSpecParser::parseIntermediateSize() {
  const Json *value = find(config, "intermediate_size");
  const char *expected =
      "a positive integer or a per-layer list of non-negative integers";
  if (!value) {
    diags.error("intermediate_size",
                std::string("required field missing (expected ") + expected +
                    ")");
    shapeValid = false;
    return;
  }
  if (value->is_number_integer()) {
    std::optional<int64_t> width = json_support::readInteger(
        *value, "intermediate_size", 1, maxDimension, diags);
    if (width)
      spec.intermediateSize.assign(std::max<int64_t>(spec.numLayers, 0),
                                   *width);
    shapeValid &= width.has_value();
    return;
  }
  if (!value->is_array()) {
    diags.error("intermediate_size", std::string("expected ") + expected +
                                         ", got " + describe(*value));
    shapeValid = false;
    return;
  }
  spec.perLayerIntermediate = true;
  for (std::size_t i = 0; i < value->size(); ++i) {
    std::optional<int64_t> width = json_support::readInteger(
        (*value)[i], elementPath("intermediate_size", i), 0, maxDimension,
        diags);
    shapeValid &= width.has_value();
    spec.intermediateSize.push_back(width.value_or(0));
  }
  if (spec.numLayers > 0 &&
      static_cast<int64_t>(value->size()) != spec.numLayers) {
    diags.error("intermediate_size",
                "expected " + std::to_string(spec.numLayers) +
                    " entries (one per layer, num_hidden_layers), got " +
                    std::to_string(value->size()));
    shapeValid = false;
  }
}

void ModelSpecParser::parseRopeTheta() {
  const Json *topLevelTheta = find(config, "rope_theta");
  if (const Json *value = topLevelTheta) {
    std::optional<double> theta =
        json_support::readNumber(*value, "rope_theta", diags);
    if (theta && *theta <= 0)
      diags.error("rope_theta", "must be positive, got " + describe(*value));
    else if (theta)
      spec.ropeTheta = *theta;
  }
  // Transformers 5 moved RoPE settings into one object.
  const Json *parameters = find(config, "rope_parameters");
  if (!parameters)
    return;
  if (!parameters->is_object()) {
    diags.error("rope_parameters",
                "expected an object, got " + describe(*parameters));
    return;
  }
  for (const auto &member : parameters->items()) {
    std::string where = memberPath("rope_parameters", member.key());
    if (member.key() == "rope_theta") {
      std::optional<double> theta =
          json_support::readNumber(member.value(), where, diags);
      if (theta && *theta <= 0)
        diags.error(where, "must be positive, got " + describe(member.value()));
      else if (theta && topLevelTheta && *theta != spec.ropeTheta)
        diags.error(where,
                    "disagrees with rope_theta " + describe(*topLevelTheta));
      else if (theta)
        spec.ropeTheta = *theta;
    } else if (!checkHuggingFaceField(member.key(), member.value(), config,
                                      diags)) {
      diags.error(where, "matc implements only plain RoPE (rope_type "
                         "\"default\" and rope_theta)");
    }
  }
}

void ModelSpecParser::parseNumerics() {
  readDimension("max_position_embeddings", spec.maxPositions, false);
  if (const Json *value = find(config, "rms_norm_eps")) {
    std::optional<double> eps =
        json_support::readNumber(*value, "rms_norm_eps", diags);
    if (eps && *eps <= 0)
      diags.error("rms_norm_eps", "must be positive, got " + describe(*value));
    else if (eps)
      spec.rmsNormEps = *eps;
  }
  parseRopeTheta();
  if (const Json *value = find(config, "hidden_act")) {
    std::optional<std::string> name =
        json_support::readString(*value, "hidden_act", diags);
    if (name && *name == "silu")
      spec.act = Activation::Silu;
    else if (name && *name == "gelu_pytorch_tanh")
      spec.act = Activation::GeluTanh;
    else if (name)
      diags.error("hidden_act", "expected \"silu\" or \"gelu_pytorch_tanh\", "
                                "got " +
                                    describe(*value));
  }
  if (const Json *value = find(config, "tie_word_embeddings")) {
    std::optional<bool> tied =
        json_support::readBool(*value, "tie_word_embeddings", diags);
    spec.tieWordEmbeddings = tied.value_or(false);
  }
}

void ModelSpecParser::parseGranularities(const Json *value) {
  const std::string where = "matformer.granularities";
  if (!value) {
    // A sliced submodel's granularities are unknown unless it declares them.
    if (spec.perLayerIntermediate || !shapeValid)
      return;
    int64_t dff = spec.dFF();
    if (dff < 8) {
      diags.error(where, "intermediate_size " + std::to_string(dff) +
                             " is too small for the default granularities "
                             "(d_ff/8, d_ff/4, d_ff/2, d_ff); give "
                             "matformer.granularities explicitly");
      granularitiesValid = false;
      return;
    }
    spec.granularities = {dff / 8, dff / 4, dff / 2, dff};
    return;
  }
  granularitiesValid = false;
  if (!value->is_array() || value->empty()) {
    diags.error(where, "expected a non-empty list of strictly increasing "
                       "positive integers, got " +
                           describe(*value));
    return;
  }
  bool valid = true;
  for (std::size_t i = 0; i < value->size(); ++i) {
    std::string elementWhere = elementPath(where, i);
    std::optional<int64_t> width = json_support::readInteger(
        (*value)[i], elementWhere, 1, maxDimension, diags);
    if (!width) {
      valid = false;
      continue;
    }
    if (!spec.granularities.empty() && *width <= spec.granularities.back()) {
      diags.error(elementWhere, "must be greater than " +
                                    std::to_string(spec.granularities.back()) +
                                    " (granularities strictly increase), got " +
                                    std::to_string(*width));
      valid = false;
    }
    spec.granularities.push_back(*width);
  }
  if (!valid || !shapeValid)
    return;
  std::string lastWhere = elementPath(where, value->size() - 1);
  int64_t last = spec.granularities.back();
  if (!spec.perLayerIntermediate && last != spec.dFF()) {
    diags.error(lastWhere,
                "the last granularity must equal intermediate_size " +
                    std::to_string(spec.dFF()) + ", got " +
                    std::to_string(last));
    return;
  }
  if (spec.perLayerIntermediate && last < spec.dFF()) {
    diags.error(lastWhere,
                "the last granularity (the universal model's d_ff) must be at "
                "least the largest per-layer intermediate_size " +
                    std::to_string(spec.dFF()) + ", got " +
                    std::to_string(last));
    return;
  }
  granularitiesValid = true;
}

std::optional<std::vector<double>>
ModelSpecParser::readPerGranularity(const Json &value, const std::string &where,
                                    const std::string &what) {
  if (!value.is_array()) {
    diags.error(where, "expected a list of " + what +
                           " (one per granularity), got " + describe(value));
    return std::nullopt;
  }
  // Without valid granularities there is no length to check against.
  if (!granularitiesValid)
    return std::nullopt;
  std::size_t count = spec.granularities.size();
  if (count == 0) {
    diags.error(where, "needs matformer.granularities, which this per-layer "
                       "spec does not declare");
    return std::nullopt;
  }
  if (value.size() != count) {
    diags.error(where, "expected " + std::to_string(count) + " " + what +
                           " (one per granularity), got " +
                           std::to_string(value.size()));
    return std::nullopt;
  }
  std::vector<double> numbers;
  bool valid = true;
  for (std::size_t i = 0; i < count; ++i) {
    std::string elementWhere = elementPath(where, i);
    std::optional<double> number =
        json_support::readNumber(value[i], elementWhere, diags);
    if (number && *number < 0) {
      diags.error(elementWhere,
                  "must be non-negative, got " + describe(value[i]));
      number.reset();
    }
    valid &= number.has_value();
    numbers.push_back(number.value_or(0));
  }
  if (!valid)
    return std::nullopt;
  return numbers;
}

void ModelSpecParser::parseLossWeights(const Json *value) {
  const std::string where = "matformer.loss_weights";
  if (!value) {
    spec.lossWeights.assign(spec.granularities.size(), 1.0);
    return;
  }
  std::optional<std::vector<double>> weights =
      readPerGranularity(*value, where, "weights");
  if (!weights)
    return;
  if (std::all_of(weights->begin(), weights->end(),
                  [](double weight) { return weight == 0; })) {
    diags.error(where, "at least one weight must be positive");
    return;
  }
  spec.lossWeights = *weights;
}

void ModelSpecParser::parseSampling(const Json *value) {
  const std::string where = "matformer.sampling";
  if (!value)
    return;
  if (value->is_string()) {
    if (*value != "all")
      diags.error(where, "expected \"all\" or a list of probabilities (one "
                         "per granularity), got " +
                             describe(*value));
    return;
  }
  std::optional<std::vector<double>> probabilities =
      readPerGranularity(*value, where, "probabilities");
  if (!probabilities)
    return;
  double sum = 0;
  for (double probability : *probabilities)
    sum += probability;
  if (std::fabs(sum - 1) > 1e-6) {
    diags.error(where,
                "probabilities must sum to 1, got " + describe(Json(sum)));
    return;
  }
  spec.sampling.all = false;
  spec.sampling.probabilities = *probabilities;
}

void ModelSpecParser::parseDefaultMix(const Json *value) {
  if (!value) {
    // A sliced submodel runs each layer at its own width.
    if (spec.perLayerIntermediate && shapeValid) {
      Mix ownWidths;
      for (int64_t width : spec.intermediateSize)
        ownWidths.push_back(LayerChoice{false, width});
      spec.defaultMix = formatMix(ownWidths);
    }
    return;
  }
  if (value->is_object()) {
    spec.defaultMix = json_support::dump(*value);
    return;
  }
  std::optional<std::string> text =
      json_support::readString(*value, "matformer.mix", diags);
  if (!text)
    return;
  spec.defaultMix = *text;
  // `@file` in a spec means a file beside the spec, not in the working dir.
  if (!text->empty() && (*text)[0] == '@' && !mixBaseDir.empty()) {
    std::filesystem::path file(text->substr(1));
    if (file.is_relative())
      spec.defaultMix =
          "@" + (std::filesystem::path(mixBaseDir) / file).string();
  }
}

void ModelSpecParser::parseMatformer() {
  const Json *matformer = find(config, "matformer");
  static const Json empty = Json::object();
  if (matformer && !matformer->is_object()) {
    diags.error("matformer", "expected an object, got " + describe(*matformer));
    matformer = nullptr;
  }
  if (!matformer)
    matformer = &empty;
  for (const auto &member : matformer->items())
    if (!json_support::isOneOf(matformerFields, member.key()))
      diags.warning("matformer",
                    "unknown field '" + member.key() + "' ignored");
  parseGranularities(find(*matformer, "granularities"));
  parseLossWeights(find(*matformer, "loss_weights"));
  parseSampling(find(*matformer, "sampling"));
  parseDefaultMix(find(*matformer, "mix"));
}

// The default mix depends on the whole spec, so it is checked last; its
// problems are the spec's, reported at `matformer.mix`.
void ModelSpecParser::validateDefaultMix() {
  Diagnostics mixDiags;
  parseMix(spec.defaultMix, spec, mixDiags);
  for (const Diagnostic &diagnostic : mixDiags.all())
    diags.report(diagnostic.severity, "matformer.mix", diagnostic.message);
}

std::optional<ModelSpec> ModelSpecParser::parse() {
  std::size_t errorsBefore = diags.errorCount();
  if (!config.is_object()) {
    diags.error("", "expected a JSON object at the top level, got " +
                        describe(config));
    return std::nullopt;
  }
  checkTopLevelFields();
  parseArchitecture();
  parseShape();
  parseIntermediateSize();
  parseNumerics();
  parseMatformer();
  if (diags.errorCount() != errorsBefore)
    return std::nullopt;
  checkMemory();
  if (diags.errorCount() != errorsBefore)
    return std::nullopt;
  validateDefaultMix();
  if (diags.errorCount() != errorsBefore)
    return std::nullopt;
  return spec;
}

void ModelSpecParser::checkMemory() {
  ModelMemory memory = modelMemoryBytes(spec);
  if (memory.total() <= kMaxModelBytes)
    return;
  auto gib = [](double bytes) {
    char text[64];
    double gibibytes = bytes / double(1 << 30);
    if (gibibytes < 1)
      std::snprintf(text, sizeof text, "%.1f MiB", gibibytes * 1024);
    else if (gibibytes < 1024)
      std::snprintf(text, sizeof text, "%.1f GiB", gibibytes);
    else
      std::snprintf(text, sizeof text, "%.4g TiB", gibibytes / 1024);
    return std::string(text);
  };
  diags.error("", "this model needs " + gib(memory.total()) +
                      " for one full-context run (weights " +
                      gib(memory.weightBytes) + ", KV caches " +
                      gib(memory.cacheBytes) + ", activations " +
                      gib(memory.activationBytes) +
                      "), more than the limit of " + gib(kMaxModelBytes));
}

std::optional<ModelSpec> parseSpecText(const std::string &jsonText,
                                       const std::string &mixBaseDir,
                                       Diagnostics &diags) {
  std::optional<Json> config = json_support::parseJson(jsonText, "", diags);
  if (!config)
    return std::nullopt;
  return ModelSpecParser(*config, mixBaseDir, diags).parse();
}

} // namespace

ModelMemory modelMemoryBytes(const ModelSpec &spec) {
  double vocab = double(spec.vocabSize), hidden = double(spec.hiddenSize);
  double heads = double(spec.numHeads), kvHeads = double(spec.numKvHeads);
  double headDim = double(spec.headDim), positions = double(spec.maxPositions);
  double layers = double(spec.numLayers), dff = double(spec.dFF());
  double perLayer = 2 * hidden; // the two norms
  perLayer += hidden * headDim * (2 * heads + 2 * kvHeads); // q, k, v, o
  double params = vocab * hidden * (spec.tieWordEmbeddings ? 1 : 2) + hidden;
  params += layers * perLayer;
  for (int64_t width : spec.intermediateSize)
    params += 3 * hidden * double(width);
  ModelMemory memory;
  memory.weightBytes = 4 * params;
  memory.cacheBytes = 4 * 2 * layers * positions * kvHeads * headDim;
  memory.activationBytes =
      4 * (positions * vocab + heads * positions * positions +
           2 * positions * dff + 4 * positions * hidden);
  return memory;
}

std::optional<ModelSpec> parseModelSpec(const std::string &jsonText,
                                        Diagnostics &diags) {
  return parseSpecText(jsonText, "", diags);
}

std::optional<ModelSpec> loadModelSpec(const std::string &path,
                                       Diagnostics &diags) {
  std::string text;
  if (!readFile(path, text, diags))
    return std::nullopt;
  std::string directory = std::filesystem::path(path).parent_path().string();
  return parseSpecText(text, directory, diags);
}

} // namespace matc::spec

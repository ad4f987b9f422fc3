#include "matc/spec/Mix.h"

#include "JsonSupport.h"
#include "matc/spec/FileIO.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <set>

namespace matc::spec {

using json_support::Json;

namespace {

// What a MIX is resolved against.
struct MixTarget {
  int64_t numLayers;
  const std::vector<int64_t> &granularities;
  const std::vector<int64_t> &layerMaxWidth;

  bool uniformWidth() const {
    return std::adjacent_find(layerMaxWidth.begin(), layerMaxWidth.end(),
                              std::not_equal_to<int64_t>()) ==
           layerMaxWidth.end();
  }
  int64_t numGranularities() const {
    return static_cast<int64_t>(granularities.size());
  }
};

std::string trim(const std::string &text) {
  const char *space = " \t\r\n";
  std::size_t first = text.find_first_not_of(space);
  if (first == std::string::npos)
    return "";
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

bool allDigits(const std::string &text, std::size_t from) {
  return from < text.size() &&
         std::all_of(text.begin() + from, text.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// Saturates instead of overflowing, so huge numbers are reported as too large.
int64_t parseDigits(const std::string &text, std::size_t from) {
  int64_t value = 0;
  for (std::size_t i = from; i < text.size(); ++i) {
    if (value > (std::numeric_limits<int64_t>::max() - 9) / 10)
      return std::numeric_limits<int64_t>::max();
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::string layerName(int64_t layer) {
  return "layer " + std::to_string(layer);
}

std::string widthRange(const MixTarget &target) {
  if (target.uniformWidth())
    return "a width 1.." + std::to_string(target.layerMaxWidth.front());
  return "a width up to the layer's intermediate_size";
}

std::string granularityRange(const MixTarget &target) {
  return "K = 0.." + std::to_string(target.numGranularities() - 1);
}

std::string tokenExpectation(const MixTarget &target) {
  std::string names;
  if (target.granularities.empty())
    names = "XL";
  else if (target.numGranularities() == 4)
    names = "S, M, L, XL, gK (" + granularityRange(target) + ")";
  else
    names = "S, XL, gK (" + granularityRange(target) + ")";
  return "expected " + names + ", " + widthRange(target) + ", 0 or skip";
}

// Validates an explicit width for `layer`, warning when it was never trained.
std::optional<int64_t> checkWidth(const MixTarget &target, int64_t width,
                                  int64_t layer, const std::string &where,
                                  Diagnostics &diags) {
  int64_t maxWidth = target.layerMaxWidth[layer];
  if (width < 0 || width > maxWidth) {
    diags.error(where, "width " + std::to_string(width) + " for " +
                           layerName(layer) + " out of range: expected 1.." +
                           std::to_string(maxWidth) + ", 0 or skip");
    return std::nullopt;
  }
  // A layer's own full width is what a sliced checkpoint was trained at.
  bool trained =
      width == 0 || width == maxWidth ||
      std::find(target.granularities.begin(), target.granularities.end(),
                width) != target.granularities.end();
  if (!trained && !target.granularities.empty()) {
    std::string widths;
    for (int64_t granularity : target.granularities)
      widths += (widths.empty() ? "" : ", ") + std::to_string(granularity);
    diags.warning(where, "width " + std::to_string(width) +
                             " is not a trained granularity (" + widths +
                             "); the submodel may be worse than its size "
                             "suggests");
  }
  return width;
}

std::optional<int64_t> granularityWidth(const MixTarget &target, int64_t index,
                                        int64_t layer, const std::string &where,
                                        Diagnostics &diags) {
  if (index >= target.numGranularities()) {
    diags.error(where, "granularity " + std::to_string(index) +
                           " out of range: the model has " +
                           std::to_string(target.numGranularities()) +
                           " granularities (g0..g" +
                           std::to_string(target.numGranularities() - 1) + ")");
    return std::nullopt;
  }
  int64_t width = target.granularities[index];
  if (width > target.layerMaxWidth[layer]) {
    diags.error(where, "granularity width " + std::to_string(width) +
                           " exceeds " + layerName(layer) + "'s width " +
                           std::to_string(target.layerMaxWidth[layer]));
    return std::nullopt;
  }
  return width;
}

// Maps S/M/L/XL to a granularity index, or reports why the name is invalid.
std::optional<int64_t> namedGranularity(const MixTarget &target,
                                        const std::string &name,
                                        const std::string &where,
                                        Diagnostics &diags) {
  int64_t count = target.numGranularities();
  if (name == "S")
    return 0;
  if (name == "XL")
    return count - 1;
  int64_t index = name == "M" ? 1 : 2;
  if (count == 4)
    return index;
  diags.error(where, name + " names granularity " + std::to_string(index) +
                         " of 4, but this model has " + std::to_string(count) +
                         " granularities; use gK (" + granularityRange(target) +
                         ") or a width");
  return std::nullopt;
}

std::optional<LayerChoice> resolveToken(const MixTarget &target,
                                        const std::string &token, int64_t layer,
                                        const std::string &where,
                                        Diagnostics &diags) {
  if (token == "skip")
    return LayerChoice{/*skip=*/true, /*width=*/0};

  bool isName = token == "S" || token == "M" || token == "L" || token == "XL";
  bool isIndex = token.size() > 1 && token[0] == 'g' && allDigits(token, 1);
  if ((isName || isIndex) && target.granularities.empty()) {
    if (token == "XL")
      return LayerChoice{false, target.layerMaxWidth[layer]};
    diags.error(where, token + " names a granularity, but the spec declares "
                               "no matformer.granularities; use XL (each "
                               "layer's own width) or a width");
    return std::nullopt;
  }
  std::optional<int64_t> index;
  if (isName)
    index = namedGranularity(target, token, where, diags);
  else if (isIndex)
    index = parseDigits(token, 1);
  if (isName || isIndex) {
    if (!index)
      return std::nullopt;
    std::optional<int64_t> width =
        granularityWidth(target, *index, layer, where, diags);
    if (!width)
      return std::nullopt;
    return LayerChoice{false, *width};
  }

  bool negative = !token.empty() && token[0] == '-';
  if (allDigits(token, negative ? 1 : 0)) {
    int64_t magnitude = parseDigits(token, negative ? 1 : 0);
    std::optional<int64_t> width = checkWidth(
        target, negative ? -magnitude : magnitude, layer, where, diags);
    if (!width)
      return std::nullopt;
    return LayerChoice{false, *width};
  }

  diags.error(where, tokenExpectation(target));
  return std::nullopt;
}

// One token for every layer: each problem is reported once, not per layer.
std::optional<Mix> broadcastToken(const MixTarget &target,
                                  const std::string &token,
                                  const std::string &where,
                                  Diagnostics &diags) {
  Mix mix;
  std::set<std::string> reported;
  for (int64_t layer = 0; layer < target.numLayers; ++layer) {
    Diagnostics layerDiags;
    std::optional<LayerChoice> choice =
        resolveToken(target, token, layer, where, layerDiags);
    for (const Diagnostic &diagnostic : layerDiags.all())
      if (reported.insert(diagnostic.message).second)
        diags.report(diagnostic.severity, "", diagnostic.message);
    if (!choice)
      return std::nullopt;
    mix.push_back(*choice);
  }
  return mix;
}

std::optional<Mix> parseTokenList(const MixTarget &target,
                                  const std::string &text, Diagnostics &diags) {
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    tokens.push_back(trim(text.substr(start, comma - start)));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  auto tokenWhere = [&](std::size_t index) {
    return "mix token " + std::to_string(index) + " ('" + tokens[index] + "')";
  };
  if (tokens.size() == 1)
    return broadcastToken(target, tokens[0], tokenWhere(0), diags);
  if (static_cast<int64_t>(tokens.size()) != target.numLayers) {
    diags.error("mix", "expected " + std::to_string(target.numLayers) +
                           " comma-separated tokens (one per layer), got " +
                           std::to_string(tokens.size()));
    return std::nullopt;
  }
  Mix mix;
  bool valid = true;
  for (int64_t layer = 0; layer < target.numLayers; ++layer) {
    std::optional<LayerChoice> choice =
        resolveToken(target, tokens[layer], layer, tokenWhere(layer), diags);
    valid &= choice.has_value();
    mix.push_back(choice.value_or(LayerChoice{}));
  }
  if (!valid)
    return std::nullopt;
  return mix;
}

// Reads `layers_to_skip` into a per-layer flag; null or absent skips nothing.
std::optional<std::vector<bool>> readSkippedLayers(const MixTarget &target,
                                                   const Json *value,
                                                   const std::string &where,
                                                   Diagnostics &diags) {
  std::vector<bool> skipped(target.numLayers, false);
  if (!value || value->is_null())
    return skipped;
  if (!value->is_array()) {
    diags.error(where, "expected an array of layer indices, got " +
                           json_support::describe(*value));
    return std::nullopt;
  }
  bool valid = true;
  for (std::size_t i = 0; i < value->size(); ++i) {
    std::string elementWhere = json_support::elementPath(where, i);
    std::optional<int64_t> layer =
        json_support::readInteger((*value)[i], elementWhere, 0,
                                  std::numeric_limits<int64_t>::max(), diags);
    if (!layer) {
      valid = false;
    } else if (*layer >= target.numLayers) {
      diags.error(elementWhere, layerName(*layer) +
                                    " out of range: the model "
                                    "has " +
                                    std::to_string(target.numLayers) +
                                    " layers (0.." +
                                    std::to_string(target.numLayers - 1) + ")");
      valid = false;
    } else if (skipped[*layer]) {
      diags.error(elementWhere,
                  layerName(*layer) + " is listed more than once");
      valid = false;
    } else {
      skipped[*layer] = true;
    }
  }
  if (!valid)
    return std::nullopt;
  return skipped;
}

// The MatFormer Lab form. `origin` is the file it came from, or empty.
std::optional<Mix> parseMixJson(const MixTarget &target,
                                const std::string &text,
                                const std::string &origin, Diagnostics &diags) {
  std::string where = origin.empty() ? "mix" : origin;
  std::string prefix = origin.empty() ? "" : origin + ": ";
  std::optional<Json> document = json_support::parseJson(text, where, diags);
  if (!document)
    return std::nullopt;
  if (!document->is_object()) {
    diags.error(where, "expected a JSON object {\"ffn_hidden_dims\": [...], "
                       "\"layers_to_skip\": [...]}, got " +
                           json_support::describe(*document));
    return std::nullopt;
  }
  for (const auto &member : document->items())
    if (member.key() != "ffn_hidden_dims" && member.key() != "layers_to_skip")
      diags.warning(where, "unknown field '" + member.key() + "' ignored");

  const Json *skipValue = nullptr;
  if (document->contains("layers_to_skip"))
    skipValue = &(*document)["layers_to_skip"];
  std::optional<std::vector<bool>> skipped =
      readSkippedLayers(target, skipValue, prefix + "layers_to_skip", diags);

  std::string dimsWhere = prefix + "ffn_hidden_dims";
  if (!document->contains("ffn_hidden_dims")) {
    diags.error(dimsWhere, "required field missing (expected one width per "
                           "kept layer)");
    return std::nullopt;
  }
  const Json &dims = (*document)["ffn_hidden_dims"];
  if (!dims.is_array()) {
    diags.error(dimsWhere, "expected an array of widths, got " +
                               json_support::describe(dims));
    return std::nullopt;
  }
  if (!skipped)
    return std::nullopt;

  std::vector<int64_t> keptLayers;
  for (int64_t layer = 0; layer < target.numLayers; ++layer)
    if (!(*skipped)[layer])
      keptLayers.push_back(layer);
  if (dims.size() != keptLayers.size()) {
    diags.error(
        dimsWhere,
        "expected " + std::to_string(keptLayers.size()) +
            " widths (one per kept layer: " + std::to_string(target.numLayers) +
            " layers, " + std::to_string(target.numLayers - keptLayers.size()) +
            " skipped), got " + std::to_string(dims.size()));
    return std::nullopt;
  }

  Mix mix(target.numLayers, LayerChoice{/*skip=*/true, /*width=*/0});
  bool valid = true;
  for (std::size_t i = 0; i < keptLayers.size(); ++i) {
    std::string elementWhere = json_support::elementPath(dimsWhere, i);
    std::optional<int64_t> width = json_support::readInteger(
        dims[i], elementWhere, 0, std::numeric_limits<int64_t>::max(), diags);
    if (width)
      width = checkWidth(target, *width, keptLayers[i], elementWhere, diags);
    valid &= width.has_value();
    mix[keptLayers[i]] = LayerChoice{false, width.value_or(0)};
  }
  if (!valid)
    return std::nullopt;
  return mix;
}

} // namespace

std::optional<Mix> parseMix(const std::string &mixText, int64_t numLayers,
                            const std::vector<int64_t> &granularities,
                            const std::vector<int64_t> &layerMaxWidth,
                            Diagnostics &diags) {
  if (numLayers <= 0 ||
      static_cast<int64_t>(layerMaxWidth.size()) != numLayers) {
    diags.error("mix", "cannot resolve a mix for " + std::to_string(numLayers) +
                           " layers with " +
                           std::to_string(layerMaxWidth.size()) +
                           " layer widths");
    return std::nullopt;
  }
  MixTarget target{numLayers, granularities, layerMaxWidth};
  std::string text = trim(mixText);
  if (text.empty()) {
    diags.error("mix", "empty; " + tokenExpectation(target) +
                           ", a comma list, @file.json or inline JSON");
    return std::nullopt;
  }
  if (text[0] == '@') {
    std::string path = trim(text.substr(1));
    if (path.empty()) {
      diags.error("mix", "'@' must be followed by the path of a JSON file");
      return std::nullopt;
    }
    std::string contents;
    if (!readFile(path, contents, diags))
      return std::nullopt;
    return parseMixJson(target, contents, path, diags);
  }
  if (text[0] == '{')
    return parseMixJson(target, text, "", diags);
  return parseTokenList(target, text, diags);
}

std::optional<Mix> parseMix(const std::string &mixText, const ModelSpec &spec,
                            Diagnostics &diags) {
  const std::string &text = trim(mixText).empty() ? spec.defaultMix : mixText;
  return parseMix(text, spec.numLayers, spec.granularities,
                  spec.intermediateSize, diags);
}

std::string formatMix(const Mix &mix) {
  std::string text;
  for (const LayerChoice &choice : mix) {
    if (!text.empty())
      text += ',';
    text += choice.skip ? "skip" : std::to_string(choice.width);
  }
  return text;
}

} // namespace matc::spec

#include "matrt/TrainingSettings.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace matrt {

using matc::spec::Diagnostics;

namespace {

// A count mismatch names what the list should match.
std::string granularitiesText(const matc::spec::ModelSpec &spec) {
  std::string text;
  for (int64_t width : spec.granularities)
    text += (text.empty() ? "" : ", ") + std::to_string(width);
  return std::to_string(spec.granularities.size()) + " (the model's " +
         "granularities " + text + ")";
}

} // namespace

bool checkTrainingSettings(const TrainingSettings &settings,
                           const matc::spec::ModelSpec &spec,
                           int64_t maxPositions, Diagnostics &diags) {
  std::size_t errorsBefore = diags.errorCount();
  std::size_t count = spec.granularities.size();
  if (count == 0) {
    diags.error("config", "the model declares no matformer.granularities, "
                          "which joint training needs");
    return false;
  }
  if (settings.seqLen > maxPositions)
    diags.error("--seq-len",
                std::to_string(settings.seqLen) +
                    " exceeds the model's max_positions (" +
                    std::to_string(maxPositions) +
                    "): each sequence of a batch is one pass over seq-len "
                    "positions");
  if (settings.lossWeights.size() != count) {
    diags.error("--loss-weights", std::to_string(settings.lossWeights.size()) +
                                      " weights given, expected " +
                                      granularitiesText(spec));
  } else {
    bool anyPositive = false;
    for (std::size_t i = 0; i < count; ++i) {
      double weight = settings.lossWeights[i];
      if (!(weight >= 0) || !std::isfinite(weight))
        diags.error("--loss-weights", "weight " + std::to_string(i) + " is " +
                                          std::to_string(weight) +
                                          ": expected a finite number >= 0");
      anyPositive |= weight > 0;
    }
    if (settings.sampleAll && !anyPositive)
      diags.error("--loss-weights",
                  "all weights are 0: at least one must be positive");
  }
  if (!settings.sampleAll) {
    if (settings.probabilities.size() != count) {
      diags.error("--sampling", std::to_string(settings.probabilities.size()) +
                                    " probabilities given, expected " +
                                    granularitiesText(spec));
    } else {
      double sum = 0;
      bool valid = true;
      for (std::size_t i = 0; i < count; ++i) {
        double p = settings.probabilities[i];
        if (!(p >= 0) || !std::isfinite(p)) {
          diags.error("--sampling", "probability " + std::to_string(i) +
                                        " is " + std::to_string(p) +
                                        ": expected a number >= 0");
          valid = false;
        }
        sum += p;
      }
      if (valid && std::fabs(sum - 1) > 1e-6) {
        char text[64];
        std::snprintf(text, sizeof(text), "%.9g", sum);
        diags.error("--sampling", std::string("the probabilities sum to ") +
                                      text + ", expected 1 (within 1e-6)");
      }
    }
  }
  return diags.errorCount() == errorsBefore;
}

std::vector<float> stepLossWeights(const TrainingSettings &settings,
                                   int64_t sampled) {
  double perSequence = 1.0 / static_cast<double>(settings.batch);
  std::vector<float> weights(settings.lossWeights.size(), 0.0f);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (settings.sampleAll)
      weights[i] = static_cast<float>(settings.lossWeights[i] * perSequence);
    else if (static_cast<int64_t>(i) == sampled)
      weights[i] = static_cast<float>(perSequence);
  }
  return weights;
}

bool parseNumberList(const std::string &text, std::vector<double> &values,
                     std::string &error) {
  values.clear();
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    char *end = nullptr;
    errno = 0;
    double value = item.empty() ? 0 : std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || errno == ERANGE ||
        !std::isfinite(value)) {
      error = "'" + item +
              "' is not a number (expected a comma-separated "
              "list of numbers)";
      return false;
    }
    values.push_back(value);
    if (comma == std::string::npos)
      return true;
    start = comma + 1;
  }
}

bool parseSamplingFlag(const std::string &text, bool &all,
                       std::vector<double> &probabilities, std::string &error) {
  if (text == "all") {
    all = true;
    probabilities.clear();
    return true;
  }
  if (!parseNumberList(text, probabilities, error)) {
    error = "expected 'all' or probabilities p0,p1,...: " + error;
    return false;
  }
  all = false;
  return true;
}

std::string formatNumberList(const std::vector<double> &values) {
  std::string text;
  for (double value : values) {
    char number[32];
    std::snprintf(number, sizeof(number), "%.17g", value);
    text += (text.empty() ? "" : ",") + std::string(number);
  }
  return text;
}

std::string granularityName(int64_t index, int64_t count) {
  static const char *const kNames[] = {"S", "M", "L", "XL"};
  if (count == 4)
    return kNames[index];
  if (index == 0)
    return "S";
  if (index == count - 1)
    return "XL";
  return "g" + std::to_string(index);
}

matc::spec::Mix granularityMix(const matc::spec::ModelSpec &spec,
                               int64_t index) {
  matc::spec::Mix mix;
  for (int64_t layerWidth : spec.intermediateSize)
    mix.push_back({false, std::min(spec.granularities[index], layerWidth)});
  return mix;
}

} // namespace matrt

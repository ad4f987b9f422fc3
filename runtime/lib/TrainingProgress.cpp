#include "matrt/TrainingProgress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace matrt {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  int64_t total = static_cast<int64_t>(std::llround(seconds));
  char text[32];
  if (total < 60)
    std::snprintf(text, sizeof(text), "%llds", static_cast<long long>(total));
  else if (total < 3600)
    std::snprintf(text, sizeof(text), "%lldm%02llds",
                  static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  else
    std::snprintf(text, sizeof(text), "%lldh%02lldm",
                  static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60));
  return text;
}

std::string formatProgress(const ProgressLine &line) {
  char text[128];
  std::snprintf(text, sizeof(text), "step %lld/%lld | %.0f tok/s | loss",
                static_cast<long long>(line.step),
                static_cast<long long>(line.lastStep), line.tokensPerSecond);
  std::string result = text;
  for (std::size_t i = 0; i < line.names.size(); ++i) {
    double loss = i < line.losses.size() ? line.losses[i] : NAN;
    result += " " + line.names[i] + " ";
    if (std::isnan(loss)) {
      result += "-";
    } else {
      std::snprintf(text, sizeof(text), "%.4f", loss);
      result += text;
    }
  }
  std::snprintf(text, sizeof(text), " | lr %.2e | ETA ", line.learningRate);
  return result + text + formatDuration(line.etaSeconds);
}

void LossAverager::add(const std::vector<double> &losses) {
  for (std::size_t i = 0; i < losses.size() && i < sums.size(); ++i)
    if (!std::isnan(losses[i])) {
      sums[i] += losses[i];
      ++counts[i];
    }
}

std::vector<double> LossAverager::means() const {
  std::vector<double> result;
  for (std::size_t i = 0; i < sums.size(); ++i)
    result.push_back(counts[i] ? sums[i] / static_cast<double>(counts[i])
                               : NAN);
  return result;
}

void LossAverager::reset() {
  std::fill(sums.begin(), sums.end(), 0.0);
  std::fill(counts.begin(), counts.end(), 0);
}

} // namespace matrt

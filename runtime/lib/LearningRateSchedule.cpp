#include "matrt/LearningRateSchedule.h"

#include <algorithm>
#include <cmath>

namespace matrt {

double LearningRateSchedule::at(int64_t step) const {
  if (warmupSteps > 0 && step <= warmupSteps)
    return peak * static_cast<double>(std::max<int64_t>(step, 0)) /
           static_cast<double>(warmupSteps);
  int64_t decaySteps = totalSteps - warmupSteps;
  double progress = decaySteps <= 0 ? 1.0
                                    : static_cast<double>(step - warmupSteps) /
                                          static_cast<double>(decaySteps);
  progress = std::clamp(progress, 0.0, 1.0);
  return minimum + (peak - minimum) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

} // namespace matrt

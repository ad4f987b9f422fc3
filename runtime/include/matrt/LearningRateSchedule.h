#ifndef MATRT_LEARNINGRATESCHEDULE_H
#define MATRT_LEARNINGRATESCHEDULE_H

#include <cstdint>

namespace matrt {

// Linear warm-up, then cosine decay: steps count from 1; step s <= warmup
// gets peak * s / warmup, later steps
//   minimum + (peak - minimum) * (1 + cos(pi * p)) / 2,
//   p = (s - warmup) / (totalSteps - warmup), clamped to [0, 1],
// so the rate reaches `minimum` at totalSteps and stays there.
struct LearningRateSchedule {
  double peak = 1e-3;
  double minimum = 1e-4;
  int64_t warmupSteps = 0;
  int64_t totalSteps = 1;

  double at(int64_t step) const;
};

} // namespace matrt

#endif // MATRT_LEARNINGRATESCHEDULE_H

#ifndef MATRT_TRAININGPROGRESS_H
#define MATRT_TRAININGPROGRESS_H

#include <cstdint>
#include <string>
#include <vector>

namespace matrt {

// What the progress line of `OUT train` shows, averaged since the last line.
struct ProgressLine {
  int64_t step = 0;     // steps completed, checkpoint numbering
  int64_t lastStep = 0; // the step this run stops at
  double tokensPerSecond = 0;
  std::vector<std::string> names; // granularity names
  // Mean training loss per granularity since the last line; NaN for one
  // that was not trained in that time (sampling).
  std::vector<double> losses;
  double learningRate = 0;
  double etaSeconds = 0;
};

// "step 120/1000 | 4321 tok/s | loss S 3.1234 M 3.0512 L - XL 2.9501 |
//  lr 9.80e-04 | ETA 3m12s" (one line, no newline).
std::string formatProgress(const ProgressLine &line);

// "45s", "3m12s", "2h05m"; "?" for a negative or non-finite time.
std::string formatDuration(double seconds);

// Accumulates the per-step losses between two progress lines.
class LossAverager {
public:
  explicit LossAverager(std::size_t granularities)
      : sums(granularities, 0.0), counts(granularities, 0) {}
  // NaN entries (granularities not run) are skipped.
  void add(const std::vector<double> &losses);
  // The means since the last reset(); NaN where there was nothing.
  std::vector<double> means() const;
  void reset();

private:
  std::vector<double> sums;
  std::vector<int64_t> counts;
};

} // namespace matrt

#endif // MATRT_TRAININGPROGRESS_H

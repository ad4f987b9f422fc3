#include "matrt/BatchSampler.h"

#include <sstream>

namespace matrt {

uint64_t BatchSampler::below(uint64_t bound) {
  if (bound <= 1)
    return 0;
  // Accept only draws below the largest multiple of `bound` that fits in
  // 2^64, so every residue is equally likely.
  uint64_t rejectFrom = UINT64_MAX - UINT64_MAX % bound;
  uint64_t draw;
  do
    draw = engine();
  while (draw >= rejectFrom);
  return draw % bound;
}

double BatchSampler::unit() {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

int64_t BatchSampler::pick(const std::vector<double> &probabilities) {
  double draw = unit();
  int64_t last = 0;
  double cumulative = 0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    if (probabilities[i] <= 0)
      continue;
    last = static_cast<int64_t>(i);
    cumulative += probabilities[i];
    if (draw < cumulative)
      return last;
  }
  return last;
}

std::vector<uint64_t> BatchSampler::windowStarts(int64_t count,
                                                 uint64_t rangeBytes,
                                                 uint64_t windowBytes) {
  std::vector<uint64_t> starts;
  starts.reserve(static_cast<std::size_t>(count));
  uint64_t positions =
      rangeBytes >= windowBytes ? rangeBytes - windowBytes + 1 : 1;
  for (int64_t i = 0; i < count; ++i)
    starts.push_back(below(positions));
  return starts;
}

std::string BatchSampler::state() const {
  std::ostringstream text;
  text << engine;
  return text.str();
}

bool BatchSampler::restore(const std::string &text) {
  std::istringstream stream(text);
  std::mt19937_64 restored;
  stream >> restored;
  if (stream.fail())
    return false;
  // Nothing may follow the state but white space.
  stream >> std::ws;
  if (!stream.eof())
    return false;
  engine = restored;
  return true;
}

} // namespace matrt

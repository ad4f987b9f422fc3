#include "matc/spec/InitialWeights.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace matc::spec {

namespace {

// FNV-1a: a stable hash (std::hash may differ between library versions).
uint64_t stableHash(const std::string &text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Box-Muller on mt19937_64 bits: std::normal_distribution is not specified
// bit-for-bit, and `init` promises the same weights everywhere.
void fillNormal(float *values, int64_t count, uint64_t seed, double stddev) {
  std::mt19937_64 bits(seed);
  auto uniform = [&] {
    return (static_cast<double>(bits() >> 11) + 0.5) * 0x1.0p-53;
  };
  for (int64_t i = 0; i < count; i += 2) {
    double radius = std::sqrt(-2.0 * std::log(uniform()));
    double angle = 2.0 * M_PI * uniform();
    values[i] = static_cast<float>(stddev * radius * std::cos(angle));
    if (i + 1 < count)
      values[i + 1] = static_cast<float>(stddev * radius * std::sin(angle));
  }
}

int64_t elementCount(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t size : shape)
    count *= size;
  return count;
}

} // namespace

void fillInitialTensor(const std::string &name,
                       const std::vector<int64_t> &shape, uint64_t seed,
                       float *values) {
  int64_t count = elementCount(shape);
  if (shape.size() > 1)
    fillNormal(values, count, seed ^ stableHash(name), 0.02);
  else
    std::fill(values, values + count, 1.0f);
}

bool writeInitialWeights(const ModelSpec &spec, const std::string &path,
                         uint64_t seed, DType dtype, Diagnostics &diags) {
  std::vector<ExpectedTensor> expected = expectedTensors(spec);
  std::vector<std::vector<float>> values(expected.size());
  std::vector<std::vector<uint16_t>> halves(expected.size());
  std::vector<TensorData> tensors;
  for (size_t i = 0; i < expected.size(); ++i) {
    const ExpectedTensor &tensor = expected[i];
    int64_t count = elementCount(tensor.shape);
    values[i].resize(count);
    fillInitialTensor(tensor.name, tensor.shape, seed, values[i].data());
    const void *data = values[i].data();
    uint64_t bytes = count * sizeof(float);
    if (dtype == DType::BF16) {
      halves[i].resize(count);
      for (int64_t j = 0; j < count; ++j)
        halves[i][j] = floatToBf16(values[i][j]);
      values[i].clear();
      data = halves[i].data();
      bytes = count * sizeof(uint16_t);
    }
    tensors.push_back({tensor.name, dtype, tensor.shape, data, bytes});
  }
  return writeSafetensors(path, tensors,
                          {{"format", "pt"},
                           {"generator", "matc init"},
                           {"seed", std::to_string(seed)}},
                          diags);
}

} // namespace matc::spec

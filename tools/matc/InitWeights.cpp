//===- InitWeights.cpp - `matc init`: deterministic random weights --------===//
#include "InitWeights.h"

#include <cmath>
#include <random>
#include <vector>

using namespace matc;

/// FNV-1a: a stable hash (std::hash may differ between library versions).
static uint64_t stableHash(const std::string &text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

/// Box-Muller on mt19937_64 bits: std::normal_distribution is not specified
/// bit-for-bit, and `init` promises the same weights everywhere.
static void fillNormal(std::vector<float> &values, uint64_t seed,
                       double stddev) {
  std::mt19937_64 bits(seed);
  auto uniform = [&] {
    return (static_cast<double>(bits() >> 11) + 0.5) * 0x1.0p-53;
  };
  for (size_t i = 0; i < values.size(); i += 2) {
    double radius = std::sqrt(-2.0 * std::log(uniform()));
    double angle = 2.0 * M_PI * uniform();
    values[i] = static_cast<float>(stddev * radius * std::cos(angle));
    if (i + 1 < values.size())
      values[i + 1] = static_cast<float>(stddev * radius * std::sin(angle));
  }
}

bool matc::writeInitialWeights(const spec::ModelSpec &spec,
                               const std::string &path, uint64_t seed,
                               spec::DType dtype, spec::Diagnostics &diags) {
  std::vector<spec::ExpectedTensor> expected = spec::expectedTensors(spec);
  std::vector<std::vector<float>> values(expected.size());
  std::vector<std::vector<uint16_t>> halves(expected.size());
  std::vector<spec::TensorData> tensors;
  for (size_t i = 0; i < expected.size(); ++i) {
    const spec::ExpectedTensor &tensor = expected[i];
    int64_t count = 1;
    for (int64_t size : tensor.shape)
      count *= size;
    values[i].assign(count, 1.0f);
    if (tensor.shape.size() > 1)
      fillNormal(values[i], seed ^ stableHash(tensor.name), 0.02);
    const void *data = values[i].data();
    uint64_t bytes = count * sizeof(float);
    if (dtype == spec::DType::BF16) {
      halves[i].resize(count);
      for (int64_t j = 0; j < count; ++j)
        halves[i][j] = spec::floatToBf16(values[i][j]);
      values[i].clear();
      data = halves[i].data();
      bytes = count * sizeof(uint16_t);
    }
    tensors.push_back({tensor.name, dtype, tensor.shape, data, bytes});
  }
  return spec::writeSafetensors(path, tensors,
                                {{"format", "pt"},
                                 {"generator", "matc init"},
                                 {"seed", std::to_string(seed)}},
                                diags);
}

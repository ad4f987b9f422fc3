#include "matrt/TrainableParameters.h"

#include "matc/spec/CheckpointNames.h"
#include "matc/spec/InitialWeights.h"
#include "matrt/ModelRunner.h"

#include <cstring>
#include <set>

namespace matrt {

using matc::spec::Diagnostics;

std::unique_ptr<TrainableParameters>
TrainableParameters::allocate(const Manifest &manifest, Diagnostics &diags) {
  std::unique_ptr<TrainableParameters> parameters(new TrainableParameters());
  uint64_t totalBytes = 0;
  for (const WeightSlot &slot : manifest.weights) {
    int64_t count = 1;
    for (int64_t dim : slot.shape)
      count *= dim;
    parameters->slots.push_back(slot);
    parameters->counts.push_back(count);
    totalBytes += static_cast<uint64_t>(count) * sizeof(float) * kNumTables;
  }
  // Refused before allocating: with overcommit the buffers would be granted
  // and then fail page by page.
  uint64_t physical = physicalMemoryBytes();
  if (physical != 0 && totalBytes > physical) {
    diags.error("train", "the weights, gradients and AdamW moments need " +
                             std::to_string(totalBytes) +
                             " bytes, more than this machine's " +
                             std::to_string(physical));
    return nullptr;
  }
  for (int table = 0; table < kNumTables; ++table)
    for (std::size_t i = 0; i < parameters->slots.size(); ++i) {
      AlignedBuffer buffer(static_cast<std::size_t>(parameters->counts[i]) *
                           sizeof(float));
      if (!buffer.ok() && parameters->counts[i] != 0) {
        diags.error(parameters->slots[i].name,
                    "cannot allocate memory for training");
        return nullptr;
      }
      parameters->typed[table].push_back(buffer.as<float>());
      parameters->untyped[table].push_back(buffer.data());
      parameters->buffers.push_back(std::move(buffer));
    }
  return parameters;
}

void TrainableParameters::zeroGradients() {
  for (std::size_t i = 0; i < size(); ++i)
    std::memset(grad(i), 0,
                static_cast<std::size_t>(counts[i]) * sizeof(float));
}

void TrainableParameters::initialize(uint64_t seed) {
  for (std::size_t i = 0; i < size(); ++i)
    matc::spec::fillInitialTensor(slots[i].name, slots[i].shape, seed,
                                  weight(i));
}

void TrainableParameters::copyWeightsFrom(void *const *source) {
  for (std::size_t i = 0; i < size(); ++i)
    std::memcpy(weight(i), source[i],
                static_cast<std::size_t>(counts[i]) * sizeof(float));
}

std::vector<float>
TrainableParameters::decayMask(const matc::spec::ModelSpec &spec,
                               bool decayNormsAndEmbeddings) const {
  using matc::spec::Tensor;
  using matc::spec::tensorName;
  std::set<std::string> exempt = {tensorName(Tensor::Embedding),
                                  tensorName(Tensor::FinalNorm)};
  for (int64_t layer = 0; layer < spec.numLayers; ++layer) {
    exempt.insert(tensorName(Tensor::InputNorm, layer));
    exempt.insert(tensorName(Tensor::PostAttentionNorm, layer));
  }
  std::vector<float> mask;
  for (const WeightSlot &slot : slots)
    mask.push_back(decayNormsAndEmbeddings || !exempt.count(slot.name) ? 1.0f
                                                                       : 0.0f);
  return mask;
}

} // namespace matrt

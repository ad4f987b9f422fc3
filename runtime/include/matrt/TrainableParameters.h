#ifndef MATRT_TRAINABLEPARAMETERS_H
#define MATRT_TRAINABLEPARAMETERS_H

#include "matc/spec/Diagnostics.h"
#include "matrt/AlignedBuffer.h"
#include "matrt/Manifest.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace matrt {

// What training updates, one entry per manifest weight (in manifest order,
// with its shape): the weight, its gradient and AdamW's two moments, each
// an f32 buffer of its own, and the pointer tables the generated training
// functions take (matc/abi/ModelAbi.h, Training). Everything starts at 0.
class TrainableParameters {
public:
  // Fails (with a diagnostic) when memory for the four copies is lacking.
  static std::unique_ptr<TrainableParameters>
  allocate(const Manifest &manifest, matc::spec::Diagnostics &diags);

  std::size_t size() const { return slots.size(); }
  const WeightSlot &slot(std::size_t i) const { return slots[i]; }
  int64_t numElements(std::size_t i) const { return counts[i]; }

  float *weight(std::size_t i) const { return tableOf(kWeights)[i]; }
  float *grad(std::size_t i) const { return tableOf(kGrads)[i]; }
  float *firstMoment(std::size_t i) const { return tableOf(kFirst)[i]; }
  float *secondMoment(std::size_t i) const { return tableOf(kSecond)[i]; }

  void *const *weights() const { return pointerTable(kWeights); }
  void *const *grads() const { return pointerTable(kGrads); }
  void *const *firstMoments() const { return pointerTable(kFirst); }
  void *const *secondMoments() const { return pointerTable(kSecond); }

  void zeroGradients();
  // The weights `matc init --seed seed` writes (spec/InitialWeights.h).
  void initialize(uint64_t seed);
  // Copies f32 weights from a table with one pointer per manifest weight
  // (a WeightStore's).
  void copyWeightsFrom(void *const *source);

  // AdamW's decay[i]: 1, or 0 for norms and the embedding unless
  // `decayNormsAndEmbeddings` (the LM head, a projection, decays).
  std::vector<float> decayMask(const matc::spec::ModelSpec &spec,
                               bool decayNormsAndEmbeddings) const;

private:
  enum Table { kWeights, kGrads, kFirst, kSecond, kNumTables };
  TrainableParameters() = default;
  const std::vector<float *> &tableOf(Table table) const {
    return typed[table];
  }
  void *const *pointerTable(Table table) const { return untyped[table].data(); }

  std::vector<WeightSlot> slots;
  std::vector<int64_t> counts;
  std::vector<AlignedBuffer> buffers;
  std::vector<float *> typed[kNumTables];
  std::vector<void *> untyped[kNumTables];
};

} // namespace matrt

#endif // MATRT_TRAINABLEPARAMETERS_H

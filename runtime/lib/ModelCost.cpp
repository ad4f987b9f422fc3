#include "matrt/ModelCost.h"

namespace matrt {

using matc::spec::LayerChoice;

ModelCost computeModelCost(const matc::spec::ModelSpec &spec,
                           const matc::spec::Mix &mix,
                           matc::spec::DType weightDtype) {
  int64_t hidden = spec.hiddenSize;
  int64_t queryWidth = spec.numHeads * spec.headDim;
  int64_t keyValueWidth = spec.numKvHeads * spec.headDim;
  int64_t attentionWeights = hidden * queryWidth          // q
                             + 2 * hidden * keyValueWidth // k, v
                             + queryWidth * hidden;       // o
  int64_t lmHeadWeights = spec.vocabSize * hidden;

  int64_t multiplyAdds = lmHeadWeights;
  int64_t weightsRead = lmHeadWeights + hidden; // LM head and the final norm
  for (const LayerChoice &layer : mix) {
    if (layer.skip)
      continue;
    int64_t ffnWeights = 3 * hidden * layer.width; // gate, up, down
    multiplyAdds += attentionWeights + ffnWeights;
    weightsRead += attentionWeights + ffnWeights + 2 * hidden; // two norms
  }
  ModelCost cost;
  cost.flopsPerToken = 2 * multiplyAdds;
  cost.weightBytesPerToken =
      weightsRead * static_cast<int64_t>(matc::spec::dtypeSize(weightDtype));
  return cost;
}

int64_t attentionFlopsPerToken(const matc::spec::ModelSpec &spec,
                               const matc::spec::Mix &mix,
                               int64_t contextLength) {
  int64_t keptLayers = 0;
  for (const LayerChoice &layer : mix)
    keptLayers += layer.skip ? 0 : 1;
  int64_t perLayer = 2 * spec.numHeads * spec.headDim * contextLength;
  return 2 * keptLayers * perLayer;
}

} // namespace matrt

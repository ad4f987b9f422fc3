#include "matc/spec/CheckpointNames.h"
#include "matc/spec/Safetensors.h"

#include <unordered_map>

namespace matc::spec {

std::vector<ExpectedTensor> expectedTensors(const ModelSpec &spec) {
  int64_t hidden = spec.hiddenSize;
  int64_t queryWidth = spec.numHeads * spec.headDim;
  int64_t keyValueWidth = spec.numKvHeads * spec.headDim;
  std::vector<ExpectedTensor> tensors;
  tensors.push_back({tensorName(Tensor::Embedding), {spec.vocabSize, hidden}});
  for (int64_t layer = 0; layer < spec.numLayers; ++layer) {
    auto add = [&](Tensor tensor, std::vector<int64_t> shape) {
      tensors.push_back({tensorName(tensor, layer), std::move(shape)});
    };
    add(Tensor::InputNorm, {hidden});
    add(Tensor::QProj, {queryWidth, hidden});
    add(Tensor::KProj, {keyValueWidth, hidden});
    add(Tensor::VProj, {keyValueWidth, hidden});
    add(Tensor::OProj, {hidden, queryWidth});
    add(Tensor::PostAttentionNorm, {hidden});
    int64_t width = spec.intermediateSize[layer];
    if (width == 0)
      continue;
    add(Tensor::GateProj, {width, hidden});
    add(Tensor::UpProj, {width, hidden});
    add(Tensor::DownProj, {hidden, width});
  }
  tensors.push_back({tensorName(Tensor::FinalNorm), {hidden}});
  if (!spec.tieWordEmbeddings)
    tensors.push_back({tensorName(Tensor::LmHead), {spec.vocabSize, hidden}});
  return tensors;
}

bool checkCheckpoint(const SafetensorsHeader &header, const ModelSpec &spec,
                     Diagnostics &diags) {
  std::unordered_map<std::string, const TensorInfo *> byName;
  for (const TensorInfo &tensor : header.tensors)
    byName.emplace(tensor.name, &tensor);

  std::size_t errorsBefore = diags.errorCount();
  for (const ExpectedTensor &expected : expectedTensors(spec)) {
    auto found = byName.find(expected.name);
    if (found == byName.end()) {
      diags.error(expected.name,
                  "missing from the checkpoint (expected shape " +
                      formatShape(expected.shape) + ")");
      continue;
    }
    const TensorInfo &tensor = *found->second;
    if (tensor.shape != expected.shape)
      diags.error(expected.name, "shape " + formatShape(tensor.shape) +
                                     " does not match the spec: expected " +
                                     formatShape(expected.shape));
    byName.erase(found);
  }
  // Report leftovers in file order, not hash order, so output is stable.
  for (const TensorInfo &tensor : header.tensors)
    if (byName.count(tensor.name))
      diags.warning(tensor.name, "not used by the spec; ignored");
  return diags.errorCount() == errorsBefore;
}

} // namespace matc::spec

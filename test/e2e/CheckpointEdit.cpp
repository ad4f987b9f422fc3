//===- CheckpointEdit.cpp - Test-only checkpoint rewrites -----------------===//

#include "CheckpointEdit.h"

#include "matc/spec/FileIO.h"
#include "matc/spec/Safetensors.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace matc::reference {
namespace {

struct NamedTensor {
  std::string name;
  const Tensor *tensor;
};

// Writes tensors as F32. Every value came from an F32, BF16 or F16 tensor,
// so the conversion back to float is exact.
bool writeF32(const std::string &path, const std::vector<NamedTensor> &tensors,
              spec::Diagnostics &diags) {
  std::vector<std::vector<float>> storage;
  storage.reserve(tensors.size());
  std::vector<spec::TensorData> records;
  for (const NamedTensor &named : tensors) {
    storage.emplace_back(named.tensor->data.begin(), named.tensor->data.end());
    spec::TensorData record;
    record.name = named.name;
    record.dtype = spec::DType::F32;
    record.shape = named.tensor->shape;
    record.data = storage.back().data();
    record.bytes = storage.back().size() * sizeof(float);
    records.push_back(record);
  }
  return spec::writeSafetensors(
      path, records, {{"format", "pt"}, {"generator", "matc-reference"}},
      diags);
}

// The first `width` rows of a [d_ff, hidden] or columns of a [hidden, d_ff]
// tensor.
Tensor firstRows(const Tensor &tensor, int64_t width) {
  Tensor result;
  result.shape = {width, tensor.cols()};
  result.data.assign(tensor.data.begin(),
                     tensor.data.begin() + width * tensor.cols());
  return result;
}
Tensor firstColumns(const Tensor &tensor, int64_t width) {
  Tensor result;
  result.shape = {tensor.rows(), width};
  for (int64_t r = 0; r < tensor.rows(); ++r)
    for (int64_t c = 0; c < width; ++c)
      result.data.push_back(tensor.at(r, c));
  return result;
}

} // namespace

bool writeZeroedCheckpoint(const spec::ModelSpec &spec,
                           const Checkpoint &checkpoint, const spec::Mix &mix,
                           const std::string &path, spec::Diagnostics &diags) {
  Checkpoint edited = checkpoint;
  for (int64_t layer = 0; layer < spec.numLayers; ++layer) {
    const spec::LayerChoice &choice = mix[layer];
    bool hasFfn = spec.intermediateSize[layer] > 0;
    if (choice.skip) {
      for (double &value : edited.get(layerTensor(layer, "self_attn.o_proj.weight")).data)
        value = 0;
      if (hasFfn)
        for (double &value : edited.get(layerTensor(layer, "mlp.down_proj.weight")).data)
          value = 0;
      continue;
    }
    if (!hasFfn)
      continue;
    Tensor &gate = edited.get(layerTensor(layer, "mlp.gate_proj.weight"));
    Tensor &up = edited.get(layerTensor(layer, "mlp.up_proj.weight"));
    Tensor &down = edited.get(layerTensor(layer, "mlp.down_proj.weight"));
    for (int64_t neuron = choice.width; neuron < gate.rows(); ++neuron)
      for (int64_t i = 0; i < gate.cols(); ++i) {
        gate.at(neuron, i) = 0;
        up.at(neuron, i) = 0;
        down.at(i, neuron) = 0;
      }
  }
  std::vector<NamedTensor> tensors;
  for (const std::string &name : edited.order)
    tensors.push_back({name, &edited.get(name)});
  return writeF32(path, tensors, diags);
}

bool writeSlicedModel(const spec::ModelSpec &spec, const Checkpoint &checkpoint,
                      const spec::Mix &mix, const std::string &directory,
                      spec::Diagnostics &diags) {
  spec::ModelSpec sliced = spec;
  sliced.intermediateSize.clear();
  sliced.perLayerIntermediate = true;
  sliced.granularities.clear(); // unknown for an extracted submodel
  sliced.lossWeights.clear();
  sliced.sampling = spec::SamplingSpec();

  std::vector<Tensor> cut; // owns the sliced FFN tensors
  cut.reserve(3 * spec.numLayers);
  std::vector<NamedTensor> tensors;
  tensors.push_back({"model.embed_tokens.weight",
                     &checkpoint.get("model.embed_tokens.weight")});
  spec::Mix keptMix;
  int64_t kept = 0;
  for (int64_t layer = 0; layer < spec.numLayers; ++layer) {
    const spec::LayerChoice &choice = mix[layer];
    if (choice.skip)
      continue;
    for (const char *suffix :
         {"input_layernorm.weight", "self_attn.q_proj.weight",
          "self_attn.k_proj.weight", "self_attn.v_proj.weight",
          "self_attn.o_proj.weight", "post_attention_layernorm.weight"})
      tensors.push_back({layerTensor(kept, suffix),
                         &checkpoint.get(layerTensor(layer, suffix))});
    if (choice.width > 0) {
      cut.push_back(firstRows(
          checkpoint.get(layerTensor(layer, "mlp.gate_proj.weight")), choice.width));
      tensors.push_back({layerTensor(kept, "mlp.gate_proj.weight"), &cut.back()});
      cut.push_back(firstRows(
          checkpoint.get(layerTensor(layer, "mlp.up_proj.weight")), choice.width));
      tensors.push_back({layerTensor(kept, "mlp.up_proj.weight"), &cut.back()});
      cut.push_back(firstColumns(
          checkpoint.get(layerTensor(layer, "mlp.down_proj.weight")), choice.width));
      tensors.push_back({layerTensor(kept, "mlp.down_proj.weight"), &cut.back()});
    }
    sliced.intermediateSize.push_back(choice.width);
    keptMix.push_back(choice);
    ++kept;
  }
  tensors.push_back({"model.norm.weight", &checkpoint.get("model.norm.weight")});
  if (!spec.tieWordEmbeddings)
    tensors.push_back({"lm_head.weight", &checkpoint.get("lm_head.weight")});
  sliced.numLayers = kept;
  sliced.defaultMix = spec::formatMix(keptMix);

  // The config must read back as the spec we mean, or the files are useless.
  std::string config = sliced.toJson();
  std::optional<spec::ModelSpec> reparsed = spec::parseModelSpec(config, diags);
  if (!reparsed)
    return false;
  std::vector<spec::ExpectedTensor> expected = spec::expectedTensors(*reparsed);
  bool layoutMatches = expected.size() == tensors.size();
  for (std::size_t i = 0; layoutMatches && i < expected.size(); ++i)
    layoutMatches = expected[i].name == tensors[i].name &&
                    expected[i].shape == tensors[i].tensor->shape;
  if (!layoutMatches) {
    diags.error("", "internal error: the sliced tensors do not match the "
                    "sliced spec's layout");
    return false;
  }

  if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) {
    diags.error(directory, std::string("cannot create directory: ") +
                               std::strerror(errno));
    return false;
  }
  return writeF32(directory + "/model.safetensors", tensors, diags) &&
         spec::writeFileAtomically(directory + "/config.json", config, diags);
}

} // namespace matc::reference

//===- ExtractSubmodel.cpp - `matc extract`: slice a submodel out ----------===//
#include "ExtractSubmodel.h"
#include "matc/spec/CheckpointNames.h"

#include "matc/spec/FileIO.h"
#include "matc/spec/Mix.h"
#include "matc/spec/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace matc;

namespace {

/// Copies the leading `rows` rows, or the leading `columns` columns of every
/// row, of a row-major [outer, inner] tensor: the nested prefix of a weight.
std::vector<uint8_t> slicePrefix(const uint8_t *data, const spec::TensorInfo &info,
                                 int64_t rows, int64_t columns) {
  size_t element = spec::dtypeSize(info.dtype);
  int64_t inner = info.shape[1];
  std::vector<uint8_t> out(static_cast<size_t>(rows * columns) * element);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(out.data() + r * columns * element,
                data + info.begin + r * inner * element, columns * element);
  return out;
}

} // namespace

bool matc::extractSubmodel(const spec::ModelSpec &spec,
                           const std::string &weightsPath,
                           const std::string &mixText,
                           const std::string &outputDir,
                           spec::Diagnostics &diags) {
  std::optional<spec::Mix> mix = spec::parseMix(mixText, spec, diags);
  if (!mix)
    return false;
  std::string file;
  if (!spec::readFile(weightsPath, file, diags))
    return false;
  spec::Diagnostics checkpointDiags(weightsPath);
  const auto *bytes = reinterpret_cast<const uint8_t *>(file.data());
  std::optional<spec::SafetensorsHeader> header =
      spec::parseSafetensorsHeader(bytes, file.size(), checkpointDiags);
  bool valid = header && spec::checkCheckpoint(*header, spec, checkpointDiags);
  for (const spec::Diagnostic &diag : checkpointDiags.all())
    diags.report(diag.severity, "", diag.message);
  if (!valid)
    return false;
  const uint8_t *data = bytes + header->dataStart;

  spec::ModelSpec submodel = spec;
  submodel.intermediateSize.clear();
  submodel.perLayerIntermediate = true;
  submodel.granularities.clear();
  submodel.lossWeights.clear();
  submodel.sampling = spec::SamplingSpec();

  // Sliced copies live here until the file is written.
  std::vector<std::vector<uint8_t>> slices;
  std::vector<spec::TensorData> tensors;
  auto keep = [&](const std::string &from, const std::string &to) {
    const spec::TensorInfo *info = header->find(from);
    tensors.push_back({to, info->dtype, info->shape, data + info->begin,
                       info->end - info->begin});
  };
  auto keepSliced = [&](const std::string &from, const std::string &to,
                        int64_t rows, int64_t columns) {
    const spec::TensorInfo *info = header->find(from);
    slices.push_back(slicePrefix(data, *info, rows, columns));
    tensors.push_back({to, info->dtype, {rows, columns}, nullptr,
                       slices.back().size()});
  };

  using spec::Tensor;
  using spec::tensorName;
  auto keepAs = [&](Tensor tensor, int64_t from, int64_t to) {
    keep(tensorName(tensor, from), tensorName(tensor, to));
  };
  keep(tensorName(Tensor::Embedding), tensorName(Tensor::Embedding));
  int64_t kept = 0;
  for (int64_t layer = 0; layer < spec.numLayers; ++layer) {
    const spec::LayerChoice &choice = (*mix)[layer];
    if (choice.skip)
      continue;
    int64_t to = kept++;
    for (Tensor tensor : {Tensor::InputNorm, Tensor::QProj, Tensor::KProj,
                          Tensor::VProj, Tensor::OProj,
                          Tensor::PostAttentionNorm})
      keepAs(tensor, layer, to);
    int64_t width = choice.width, hidden = spec.hiddenSize;
    submodel.intermediateSize.push_back(width);
    if (width == 0)
      continue;
    keepSliced(tensorName(Tensor::GateProj, layer), tensorName(Tensor::GateProj, to), width, hidden);
    keepSliced(tensorName(Tensor::UpProj, layer), tensorName(Tensor::UpProj, to), width, hidden);
    keepSliced(tensorName(Tensor::DownProj, layer), tensorName(Tensor::DownProj, to), hidden, width);
  }
  keep(tensorName(Tensor::FinalNorm), tensorName(Tensor::FinalNorm));
  if (!spec.tieWordEmbeddings)
    keep(tensorName(Tensor::LmHead), tensorName(Tensor::LmHead));
  // Slices were appended to a growing vector: bind their pointers last.
  size_t sliceIndex = 0;
  for (spec::TensorData &tensor : tensors)
    if (!tensor.data)
      tensor.data = slices[sliceIndex++].data();

  submodel.numLayers = kept;
  spec::Mix ownWidths;
  for (int64_t width : submodel.intermediateSize)
    ownWidths.push_back({false, width});
  submodel.defaultMix = spec::formatMix(ownWidths);

  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir)) {
    diags.error(outputDir, "cannot create the output folder: " + ec.message());
    return false;
  }
  llvm::SmallString<256> weightsOut(outputDir), configOut(outputDir);
  llvm::sys::path::append(weightsOut, "model.safetensors");
  llvm::sys::path::append(configOut, "config.json");
  std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"matc_extracted_mix", spec::formatMix(*mix)}};
  return spec::writeSafetensors(weightsOut.str().str(), tensors, metadata,
                                diags) &&
         spec::writeFileAtomically(configOut.str().str(),
                                   submodel.toJson() + "\n", diags);
}

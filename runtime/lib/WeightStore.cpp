#include "matrt/WeightStore.h"

#include "matrt/DTypeConversion.h"

#include <cstdio>
#include <map>

namespace matrt {

using matc::spec::Diagnostics;
using matc::spec::DType;
using matc::spec::dtypeName;
using matc::spec::dtypeSize;
using matc::spec::formatShape;
using matc::spec::TensorInfo;

namespace {

std::string sizeText(uint64_t bytes) {
  char text[32];
  if (bytes < (1 << 20))
    std::snprintf(text, sizeof(text), "%.1f KiB",
                  static_cast<double>(bytes) / (1 << 10));
  else
    std::snprintf(text, sizeof(text), "%.1f MiB",
                  static_cast<double>(bytes) / (1 << 20));
  return text;
}

// Every manifest weight must be in the file with exactly its shape; all
// problems are reported, not just the first.
bool checkTensors(const matc::spec::SafetensorsHeader &header,
                  const Manifest &manifest, Diagnostics &diags) {
  std::size_t errorsBefore = diags.errorCount();
  for (const WeightSlot &slot : manifest.weights) {
    const TensorInfo *tensor = header.find(slot.name);
    if (!tensor)
      diags.error(slot.name, "missing from the checkpoint (the compiled model "
                             "needs it with shape " +
                                 formatShape(slot.shape) + ")");
    else if (tensor->shape != slot.shape)
      diags.error(slot.name, "shape " + formatShape(tensor->shape) +
                                 " does not match the compiled model: "
                                 "expected " +
                                 formatShape(slot.shape));
  }
  return diags.errorCount() == errorsBefore;
}

} // namespace

std::unique_ptr<WeightStore> WeightStore::load(const std::string &path,
                                               const Manifest &manifest,
                                               Diagnostics &callerDiags) {
  // Tensor-level messages are prefixed with the file they are about.
  Diagnostics diags(path);
  auto reportTo = [&](Diagnostics &target) {
    for (const matc::spec::Diagnostic &d : diags.all())
      target.report(d.severity, "", d.message);
  };

  std::unique_ptr<WeightStore> store(new WeightStore());
  if (!store->file.open(path, diags)) {
    reportTo(callerDiags);
    return nullptr;
  }
  std::optional<matc::spec::SafetensorsHeader> header =
      matc::spec::parseSafetensorsHeader(store->file.data(), store->file.size(),
                                         diags);
  if (!header || !checkTensors(*header, manifest, diags)) {
    reportTo(callerDiags);
    return nullptr;
  }

  DType wanted = manifest.weightDtype;
  std::size_t elementSize = dtypeSize(wanted);
  std::map<DType, int> convertedByDtype;
  uint64_t convertedBytes = 0;
  for (const WeightSlot &slot : manifest.weights) {
    const TensorInfo &tensor = *header->find(slot.name);
    const uint8_t *source =
        store->file.data() + header->dataStart + tensor.begin;
    uint64_t count = static_cast<uint64_t>(tensor.numElements());
    bool aligned = reinterpret_cast<uintptr_t>(source) % elementSize == 0;
    if (tensor.dtype == wanted && aligned) {
      store->dataPointers.push_back(const_cast<uint8_t *>(source));
      continue;
    }
    AlignedBuffer buffer(count * elementSize);
    if (!buffer.ok()) {
      diags.error(slot.name, "cannot allocate " +
                                 sizeText(count * elementSize) +
                                 " for a converted copy");
      reportTo(callerDiags);
      return nullptr;
    }
    convertElements(source, tensor.dtype, buffer.data(), wanted, count);
    if (tensor.dtype != wanted) {
      ++convertedByDtype[tensor.dtype];
      convertedBytes += buffer.size();
    }
    store->numCopiedBytes += buffer.size();
    store->dataPointers.push_back(buffer.data());
    store->ownedTensors.push_back(std::move(buffer));
  }

  if (!convertedByDtype.empty()) {
    std::string from;
    for (const auto &[dtype, tensors] : convertedByDtype)
      from += std::string(from.empty() ? "" : " and ") +
              std::to_string(tensors) + " " + dtypeName(dtype) + " tensor" +
              (tensors == 1 ? "" : "s");
    diags.warning("", "converted " + from + " to " + dtypeName(wanted) +
                          ", the dtype this binary was compiled for (" +
                          sizeText(convertedBytes) +
                          " copied; use a checkpoint of that dtype to load "
                          "without copying)");
  }
  reportTo(callerDiags);
  return store;
}

} // namespace matrt

#include "matc/spec/Safetensors.h"

#include "JsonSupport.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace matc::spec {

using json_support::describe;
using json_support::Json;

namespace {

// Real headers are a few hundred kilobytes; a larger one is corrupt or hostile.
constexpr uint64_t maxHeaderSize = 100u << 20;

uint64_t readLittleEndian64(const uint8_t *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}

std::optional<std::vector<int64_t>> readShape(const Json &value) {
  if (!value.is_array())
    return std::nullopt;
  std::vector<int64_t> shape;
  for (const Json &dim : value) {
    if (!dim.is_number_integer() ||
        (!dim.is_number_unsigned() && dim.get<int64_t>() < 0) ||
        (dim.is_number_unsigned() &&
         dim.get<uint64_t>() >
             static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
      return std::nullopt;
    shape.push_back(dim.get<int64_t>());
  }
  return shape;
}

std::optional<std::pair<uint64_t, uint64_t>> readOffsets(const Json &value) {
  if (!value.is_array() || value.size() != 2 ||
      !value[0].is_number_unsigned() || !value[1].is_number_unsigned())
    return std::nullopt;
  uint64_t begin = value[0].get<uint64_t>(), end = value[1].get<uint64_t>();
  if (begin > end)
    return std::nullopt;
  return std::make_pair(begin, end);
}

// The bytes a dtype and shape need, or nullopt when that overflows.
std::optional<uint64_t> tensorBytes(DType dtype,
                                    const std::vector<int64_t> &shape) {
  uint64_t bytes = dtypeSize(dtype);
  for (int64_t dim : shape)
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes))
      return std::nullopt;
  return bytes;
}

std::string offsetsText(uint64_t begin, uint64_t end) {
  return "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
         "]";
}

std::optional<TensorInfo> parseTensorEntry(const std::string &name,
                                           const Json &entry, uint64_t dataSize,
                                           Diagnostics &diags) {
  if (!entry.is_object()) {
    diags.error(name, "expected an object with dtype, shape and data_offsets, "
                      "got " +
                          describe(entry));
    return std::nullopt;
  }
  for (const auto &member : entry.items())
    if (member.key() != "dtype" && member.key() != "shape" &&
        member.key() != "data_offsets")
      diags.warning(name, "unknown field '" + member.key() + "' ignored");

  TensorInfo info;
  info.name = name;
  bool valid = true;
  auto dtypeIt = entry.find("dtype");
  if (dtypeIt == entry.end() || !dtypeIt->is_string()) {
    diags.error(name, "expected dtype \"F32\", \"BF16\" or \"F16\", got " +
                          (dtypeIt == entry.end() ? std::string("none")
                                                  : describe(*dtypeIt)));
    valid = false;
  } else if (std::optional<DType> dtype =
                 parseDTypeName(dtypeIt->get<std::string>())) {
    info.dtype = *dtype;
  } else {
    diags.error(name, "dtype " + dtypeIt->get<std::string>() +
                          " not supported (expected F32, BF16 or F16)");
    valid = false;
  }

  auto shapeIt = entry.find("shape");
  std::optional<std::vector<int64_t>> shape;
  if (shapeIt != entry.end())
    shape = readShape(*shapeIt);
  if (!shape) {
    diags.error(name, "expected shape as a list of non-negative integers, "
                      "got " +
                          (shapeIt == entry.end() ? std::string("none")
                                                  : describe(*shapeIt)));
    valid = false;
  } else {
    info.shape = *shape;
  }

  auto offsetsIt = entry.find("data_offsets");
  std::optional<std::pair<uint64_t, uint64_t>> offsets;
  if (offsetsIt != entry.end())
    offsets = readOffsets(*offsetsIt);
  if (!offsets) {
    diags.error(name, "expected data_offsets [begin, end] with 0 <= begin <= "
                      "end, got " +
                          (offsetsIt == entry.end() ? std::string("none")
                                                    : describe(*offsetsIt)));
    return std::nullopt;
  }
  info.begin = offsets->first;
  info.end = offsets->second;
  if (info.end > dataSize) {
    diags.error(name, offsetsText(info.begin, info.end) +
                          " end past the end of the data (" +
                          std::to_string(dataSize) + " bytes)");
    valid = false;
  }
  if (!valid)
    return std::nullopt;

  std::optional<uint64_t> needed = tensorBytes(info.dtype, info.shape);
  uint64_t held = info.end - info.begin;
  if (!needed || *needed != held) {
    diags.error(name,
                offsetsText(info.begin, info.end) + " hold " +
                    std::to_string(held) + " bytes, but " +
                    dtypeName(info.dtype) + " " + formatShape(info.shape) +
                    " needs " +
                    (needed ? std::to_string(*needed) : "more than 2^64"));
    return std::nullopt;
  }
  return info;
}

bool parseMetadata(const Json &value, std::map<std::string, std::string> &out,
                   Diagnostics &diags) {
  if (!value.is_object()) {
    diags.error("__metadata__",
                "expected an object of strings, got " + describe(value));
    return false;
  }
  bool valid = true;
  for (const auto &member : value.items()) {
    if (!member.value().is_string()) {
      diags.error(json_support::memberPath("__metadata__", member.key()),
                  "expected a string, got " + describe(member.value()));
      valid = false;
      continue;
    }
    out[member.key()] = member.value().get<std::string>();
  }
  return valid;
}

// Two tensors sharing bytes would alias, and writing one corrupts the other.
bool checkNoOverlap(const std::vector<TensorInfo> &tensors,
                    Diagnostics &diags) {
  std::vector<const TensorInfo *> byBegin;
  for (const TensorInfo &tensor : tensors)
    if (tensor.end > tensor.begin)
      byBegin.push_back(&tensor);
  std::stable_sort(byBegin.begin(), byBegin.end(),
                   [](const TensorInfo *a, const TensorInfo *b) {
                     return a->begin < b->begin;
                   });
  bool valid = true;
  const TensorInfo *reachesFurthest = nullptr;
  for (const TensorInfo *tensor : byBegin) {
    if (reachesFurthest && tensor->begin < reachesFurthest->end) {
      diags.error(tensor->name, offsetsText(tensor->begin, tensor->end) +
                                    " overlap " + reachesFurthest->name +
                                    "'s " +
                                    offsetsText(reachesFurthest->begin,
                                                reachesFurthest->end));
      valid = false;
    }
    if (!reachesFurthest || tensor->end > reachesFurthest->end)
      reachesFurthest = tensor;
  }
  return valid;
}

} // namespace

int64_t TensorInfo::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

const TensorInfo *SafetensorsHeader::find(const std::string &name) const {
  for (const TensorInfo &tensor : tensors)
    if (tensor.name == name)
      return &tensor;
  return nullptr;
}

std::optional<SafetensorsHeader> parseSafetensorsHeader(const uint8_t *fileData,
                                                        uint64_t fileSize,
                                                        Diagnostics &diags) {
  if (fileSize < 8) {
    diags.error("", "file is " + std::to_string(fileSize) +
                        " bytes, too short for a safetensors file (it starts "
                        "with an 8-byte header length)");
    return std::nullopt;
  }
  SafetensorsHeader header;
  header.headerSize = readLittleEndian64(fileData);
  if (header.headerSize > fileSize - 8) {
    diags.error("", "header length " + std::to_string(header.headerSize) +
                        " runs past the end of the file (" +
                        std::to_string(fileSize) + " bytes)");
    return std::nullopt;
  }
  if (header.headerSize > maxHeaderSize) {
    diags.error("", "header length " + std::to_string(header.headerSize) +
                        " exceeds the limit of " +
                        std::to_string(maxHeaderSize) + " bytes");
    return std::nullopt;
  }
  header.dataStart = 8 + header.headerSize;
  uint64_t dataSize = fileSize - header.dataStart;

  std::string text(reinterpret_cast<const char *>(fileData) + 8,
                   header.headerSize);
  std::optional<Json> document =
      json_support::parseJson(text, "safetensors header", diags);
  if (!document)
    return std::nullopt;
  if (!document->is_object()) {
    diags.error("safetensors header",
                "expected a JSON object, got " + describe(*document));
    return std::nullopt;
  }

  bool valid = true;
  for (const auto &member : document->items()) {
    if (member.key() == "__metadata__") {
      valid &= parseMetadata(member.value(), header.metadata, diags);
      continue;
    }
    std::optional<TensorInfo> tensor =
        parseTensorEntry(member.key(), member.value(), dataSize, diags);
    if (tensor)
      header.tensors.push_back(std::move(*tensor));
    valid &= tensor.has_value();
  }
  valid &= checkNoOverlap(header.tensors, diags);
  if (!valid)
    return std::nullopt;
  return header;
}

std::optional<SafetensorsHeader> loadSafetensorsHeader(const std::string &path,
                                                       Diagnostics &diags) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file) {
    diags.error(path, std::string("cannot open for reading: ") +
                          std::strerror(errno));
    return std::nullopt;
  }
  std::vector<uint8_t> prefix(8);
  uint64_t fileSize = 0;
  bool readable = std::fseek(file, 0, SEEK_END) == 0;
  long endPosition = readable ? std::ftell(file) : -1;
  readable = endPosition >= 0 && std::fseek(file, 0, SEEK_SET) == 0;
  if (readable) {
    fileSize = static_cast<uint64_t>(endPosition);
    std::size_t wanted = std::min<uint64_t>(8, fileSize);
    readable = std::fread(prefix.data(), 1, wanted, file) == wanted;
  }
  // Only the header is read: the data can be many gigabytes.
  if (readable && fileSize >= 8) {
    uint64_t headerSize = readLittleEndian64(prefix.data());
    if (headerSize <= fileSize - 8 && headerSize <= maxHeaderSize) {
      prefix.resize(8 + headerSize);
      readable =
          std::fread(prefix.data() + 8, 1, headerSize, file) == headerSize;
    }
  }
  std::string reason = std::ferror(file) ? std::strerror(errno) : "too short";
  std::fclose(file);
  if (!readable) {
    diags.error(path, "cannot read: " + reason);
    return std::nullopt;
  }
  return parseSafetensorsHeader(prefix.data(), fileSize, diags);
}

} // namespace matc::spec

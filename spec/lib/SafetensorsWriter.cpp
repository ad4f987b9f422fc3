#include "matc/spec/Safetensors.h"

#include "JsonSupport.h"
#include "matc/spec/FileIO.h"

#include <set>

namespace matc::spec {

using json_support::Json;

namespace {

bool checkTensorsToWrite(const std::vector<TensorData> &tensors,
                         Diagnostics &diags) {
  std::size_t errorsBefore = diags.errorCount();
  std::set<std::string> names;
  for (const TensorData &tensor : tensors) {
    if (tensor.name.empty() || tensor.name == "__metadata__")
      diags.error("'" + tensor.name + "'", "is not a valid tensor name");
    else if (!names.insert(tensor.name).second)
      diags.error(tensor.name, "written more than once");
    uint64_t needed = dtypeSize(tensor.dtype);
    bool overflow = false;
    for (int64_t dim : tensor.shape)
      overflow |= dim < 0 || __builtin_mul_overflow(
                                 needed, static_cast<uint64_t>(dim), &needed);
    if (overflow || needed != tensor.bytes)
      diags.error(tensor.name, std::to_string(tensor.bytes) +
                                   " bytes given, but " +
                                   dtypeName(tensor.dtype) + " " +
                                   formatShape(tensor.shape) + " needs " +
                                   (overflow ? std::string("more than 2^64")
                                             : std::to_string(needed)));
    else if (tensor.bytes != 0 && tensor.data == nullptr)
      diags.error(tensor.name, "no data given");
  }
  return diags.errorCount() == errorsBefore;
}

std::string headerText(const std::vector<TensorData> &tensors,
                       const std::map<std::string, std::string> &metadata) {
  Json header = Json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorData &tensor : tensors) {
    header[tensor.name] = {{"dtype", dtypeName(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.bytes}}};
    offset += tensor.bytes;
  }
  std::string text = json_support::dump(header);
  // Aligned data lets a reader use an mmap'ed file's tensors in place.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  return text;
}

} // namespace

bool writeSafetensors(const std::string &path,
                      const std::vector<TensorData> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      Diagnostics &diags) {
  if (!checkTensorsToWrite(tensors, diags))
    return false;
  std::string header = headerText(tensors, metadata);
  uint8_t length[8];
  for (int i = 0; i < 8; ++i)
    length[i] =
        static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  AtomicFileWriter writer(path, diags);
  bool written = writer.write(length, sizeof(length)) &&
                 writer.write(header.data(), header.size());
  for (const TensorData &tensor : tensors)
    written = written && writer.write(tensor.data, tensor.bytes);
  return written && writer.commit();
}

} // namespace matc::spec

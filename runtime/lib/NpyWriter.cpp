#include "matrt/NpyWriter.h"

namespace matrt {

// '<f4' promises little-endian data, which is what we write by memcpy.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the .npy writer assumes a little-endian host");

std::string npyFloat32Header(const std::vector<int64_t> &shape) {
  std::string dims;
  for (int64_t dim : shape)
    dims += std::to_string(dim) + ", ";
  // Python's tuple syntax: (n,) for one dimension, (a, b) for more.
  if (shape.size() > 1)
    dims.resize(dims.size() - 2);
  else if (shape.size() == 1)
    dims.pop_back();
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  constexpr std::size_t preamble = 10; // magic(6) version(2) length(2)
  std::size_t total = preamble + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::size_t headerLength = dict.size();
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(headerLength & 0xff);
  header += static_cast<char>((headerLength >> 8) & 0xff);
  return header + dict;
}

bool writeNpyFloat32(matc::spec::AtomicFileWriter &writer, const float *data,
                     const std::vector<int64_t> &shape) {
  uint64_t count = 1;
  for (int64_t dim : shape)
    count *= static_cast<uint64_t>(dim);
  std::string header = npyFloat32Header(shape);
  return writer.write(header.data(), header.size()) &&
         writer.write(data, count * sizeof(float)) && writer.commit();
}

bool writeNpyFloat32(const std::string &path, const float *data,
                     const std::vector<int64_t> &shape,
                     matc::spec::Diagnostics &diags) {
  matc::spec::AtomicFileWriter writer(path, diags);
  return writeNpyFloat32(writer, data, shape);
}

} // namespace matrt

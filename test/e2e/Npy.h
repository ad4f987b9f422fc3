//===- Npy.h - NumPy .npy files for the reference -------------------------===//
//
// Reads the float32 logits a compiled program writes and writes the
// reference's own logits. Only what the tests need: format 1.0 or 2.0,
// little-endian float32 ('<f4') or float64 ('<f8'), C order.
//
//===----------------------------------------------------------------------===//

#ifndef MATC_TEST_E2E_NPY_H
#define MATC_TEST_E2E_NPY_H

#include "matc/spec/Diagnostics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace matc::reference {

struct NpyArray {
  std::string descr; // "<f4" or "<f8"
  std::vector<int64_t> shape;
  std::vector<double> data; // C order, converted to double
};

// Parses the header dict properly (descr, fortran_order, shape; nothing
// else) and rejects other versions, dtypes, Fortran order and files whose
// size does not match the shape, with an error naming the file.
bool readNpy(const std::string &path, NpyArray &array,
             spec::Diagnostics &diags);

// Writes format 1.0, C order, '<f8' or (with `float32`) '<f4', atomically.
bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const std::vector<double> &data, bool float32,
              spec::Diagnostics &diags);

} // namespace matc::reference

#endif // MATC_TEST_E2E_NPY_H

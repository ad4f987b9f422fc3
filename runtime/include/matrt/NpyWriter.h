#ifndef MATRT_NPYWRITER_H
#define MATRT_NPYWRITER_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/FileIO.h"

#include <cstdint>
#include <string>
#include <vector>

namespace matrt {

// The header of a NumPy format 1.0 file holding little-endian float32 in C
// order: magic, version, header length and the dict, space-padded and ended
// by '\n' so that the data starts at a multiple of 64 bytes (what NumPy
// itself writes and requires of version 1.0 files).
std::string npyFloat32Header(const std::vector<int64_t> &shape);

// Writes `data` (the product of `shape` floats) as a .npy file, atomically:
// a reader never sees a partial file, and on failure none is left behind.
bool writeNpyFloat32(const std::string &path, const float *data,
                     const std::vector<int64_t> &shape,
                     matc::spec::Diagnostics &diags);
// The same through a writer opened earlier, so a caller can find out that the
// output cannot be written before doing the work that fills it.
bool writeNpyFloat32(matc::spec::AtomicFileWriter &writer, const float *data,
                     const std::vector<int64_t> &shape);

} // namespace matrt

#endif // MATRT_NPYWRITER_H

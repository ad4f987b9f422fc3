//===- Npy.cpp - NumPy .npy files for the reference -----------------------===//
//
// Format (numpy.lib.format): "\x93NUMPY", major, minor, a little-endian
// header length (2 bytes in 1.0, 4 in 2.0), then an ASCII Python dict
// literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 256), }
// padded with spaces and ended by '\n', then the raw data.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include "matc/spec/FileIO.h"

#include <cctype>
#include <cstring>
#include <limits>
#include <optional>

namespace matc::reference {
namespace {

const char kMagic[] = "\x93NUMPY";
const std::size_t kMagicSize = 6;

// A cursor over the header dict; every parse step reports its own error.
class DictParser {
public:
  DictParser(const std::string &text, spec::Diagnostics &diags)
      : text(text), diags(diags) {}

  bool parse(std::string &descr, bool &fortranOrder,
             std::vector<int64_t> &shape) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!expect('{'))
      return false;
    while (true) {
      skipSpace();
      if (peek() == '}')
        break;
      std::optional<std::string> key = parseString();
      if (!key || !expect(':'))
        return false;
      if (*key == "descr") {
        std::optional<std::string> value = parseString();
        if (!value || !once(haveDescr, "descr"))
          return false;
        descr = *value;
      } else if (*key == "fortran_order") {
        if (!parseBool(fortranOrder) || !once(haveOrder, "fortran_order"))
          return false;
      } else if (*key == "shape") {
        if (!parseShape(shape) || !once(haveShape, "shape"))
          return false;
      } else {
        return fail("unexpected key '" + *key +
                    "' (expected descr, fortran_order and shape)");
      }
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      skipSpace();
      if (peek() != '}')
        return fail("expected ',' or '}' after the value of '" + *key + "'");
    }
    ++pos; // '}'
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n'))
      ++pos;
    if (pos != text.size())
      return fail("unexpected text after the header dict");
    if (!haveDescr || !haveOrder || !haveShape)
      return fail("the header dict needs 'descr', 'fortran_order' and "
                  "'shape'");
    return true;
  }

private:
  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  void skipSpace() {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }
  bool fail(const std::string &what) {
    diags.error("header", what);
    return false;
  }
  bool expect(char c) {
    skipSpace();
    if (peek() != c)
      return fail(std::string("expected '") + c + "' at offset " +
                  std::to_string(pos) + " of the header dict");
    ++pos;
    return true;
  }
  bool once(bool &seen, const char *key) {
    if (seen)
      return fail(std::string("duplicate key '") + key + "'");
    seen = true;
    return true;
  }
  std::optional<std::string> parseString() {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"') {
      fail("expected a quoted string at offset " + std::to_string(pos));
      return std::nullopt;
    }
    std::size_t end = text.find(quote, pos + 1);
    if (end == std::string::npos) {
      fail("unterminated string in the header dict");
      return std::nullopt;
    }
    std::string value = text.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    return value;
  }
  bool parseBool(bool &value) {
    skipSpace();
    if (text.compare(pos, 4, "True") == 0) {
      value = true;
      pos += 4;
    } else if (text.compare(pos, 5, "False") == 0) {
      value = false;
      pos += 5;
    } else {
      return fail("fortran_order must be True or False");
    }
    return true;
  }
  // A Python tuple of non-negative ints: (), (3,), (3, 256) or (3, 256,).
  bool parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!expect('('))
      return false;
    while (true) {
      skipSpace();
      if (peek() == ')')
        break;
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return fail("shape must be a tuple of non-negative integers");
      int64_t dim = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (dim > (std::numeric_limits<int32_t>::max() - 9) / 10)
          return fail("shape dimension too large");
        dim = dim * 10 + (text[pos++] - '0');
      }
      shape.push_back(dim);
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() != ')')
        return fail("expected ',' or ')' in shape");
    }
    ++pos; // ')'
    return true;
  }

  const std::string &text;
  spec::Diagnostics &diags;
  std::size_t pos = 0;
};

} // namespace

bool readNpy(const std::string &path, NpyArray &array,
             spec::Diagnostics &diags) {
  std::string bytes;
  if (!spec::readFile(path, bytes, diags))
    return false;
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    diags.error("", "not a NumPy .npy file (no \\x93NUMPY magic)");
    return false;
  }
  unsigned major = static_cast<unsigned char>(bytes[6]);
  unsigned minor = static_cast<unsigned char>(bytes[7]);
  if ((major != 1 && major != 2) || minor != 0) {
    diags.error("", "unsupported .npy format version " + std::to_string(major) +
                        "." + std::to_string(minor) + " (expected 1.0 or 2.0)");
    return false;
  }
  std::size_t lengthBytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + lengthBytes) {
    diags.error("", "truncated .npy header");
    return false;
  }
  uint64_t headerLength = 0;
  for (std::size_t i = 0; i < lengthBytes; ++i)
    headerLength |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[8 + i]))
                    << (8 * i);
  uint64_t dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.size()) {
    diags.error("", "header length " + std::to_string(headerLength) +
                        " runs past the end of the file");
    return false;
  }
  std::string header = bytes.substr(8 + lengthBytes, headerLength);
  if (header.empty() || header.back() != '\n') {
    diags.error("header", "must end with a newline");
    return false;
  }

  bool fortranOrder = false;
  DictParser parser(header, diags);
  if (!parser.parse(array.descr, fortranOrder, array.shape))
    return false;
  std::size_t elementSize;
  if (array.descr == "<f4") {
    elementSize = 4;
  } else if (array.descr == "<f8") {
    elementSize = 8;
  } else {
    diags.error("descr", "dtype '" + array.descr +
                             "' is not supported (expected little-endian "
                             "float32 '<f4' or float64 '<f8')");
    return false;
  }
  if (fortranOrder) {
    diags.error("fortran_order", "Fortran-order arrays are not supported "
                                 "(expected C order)");
    return false;
  }
  uint64_t count = 1;
  for (int64_t dim : array.shape)
    count *= static_cast<uint64_t>(dim);
  uint64_t dataBytes = bytes.size() - dataStart;
  if (dataBytes != count * elementSize) {
    diags.error("", "holds " + std::to_string(dataBytes) +
                        " data bytes, but shape " + std::to_string(count) +
                        " elements of " + array.descr + " need " +
                        std::to_string(count * elementSize));
    return false;
  }
  array.data.resize(count);
  const char *data = bytes.data() + dataStart;
  for (uint64_t i = 0; i < count; ++i) {
    if (elementSize == 4) {
      float value;
      std::memcpy(&value, data + 4 * i, 4);
      array.data[i] = value;
    } else {
      std::memcpy(&array.data[i], data + 8 * i, 8);
    }
  }
  return true;
}

bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const std::vector<double> &data, bool float32,
              spec::Diagnostics &diags) {
  std::string dict = std::string("{'descr': '") + (float32 ? "<f4" : "<f8") +
                     "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i)
    dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }"; // Python's tuple repr
  // Pad so that magic + version + length + dict + '\n' is a multiple of 64.
  std::size_t total = kMagicSize + 2 + 2 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';

  std::string bytes(kMagic, kMagicSize);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  bytes += dict;
  for (double value : data) {
    if (float32) {
      float narrow = static_cast<float>(value);
      bytes.append(reinterpret_cast<const char *>(&narrow), 4);
    } else {
      bytes.append(reinterpret_cast<const char *>(&value), 8);
    }
  }
  return spec::writeFileAtomically(path, bytes, diags);
}

} // namespace matc::reference

#include "matrt/NpyWriter.h"

#include "TempDir.h"
#include "matc/spec/FileIO.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::test::TempDir;

namespace {

uint16_t headerLength(const std::string &bytes) {
  return static_cast<uint16_t>(static_cast<unsigned char>(bytes[8]) |
                               (static_cast<unsigned char>(bytes[9]) << 8));
}

} // namespace

TEST(NpyWriterTest, HeaderIsVersion1PaddedTo64Bytes) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{3, 256}, {7}, {}, {1, 2, 3}, {123456789, 1}}) {
    std::string header = npyFloat32Header(shape);
    EXPECT_EQ(header.compare(0, 6, "\x93NUMPY"), 0);
    EXPECT_EQ(header[6], '\x01');
    EXPECT_EQ(header[7], '\x00');
    EXPECT_EQ(header.size() % 64, 0u);
    EXPECT_EQ(headerLength(header) + 10u, header.size());
    EXPECT_EQ(header.back(), '\n');
  }
  EXPECT_NE(
      npyFloat32Header({3, 256}).find(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 256), }"),
      std::string::npos);
  // A one-element tuple needs its trailing comma in Python syntax.
  EXPECT_NE(npyFloat32Header({7}).find("'shape': (7,)"), std::string::npos);
  EXPECT_NE(npyFloat32Header({}).find("'shape': ()"), std::string::npos);
}

TEST(NpyWriterTest, WritesHeaderThenLittleEndianData) {
  TempDir tmp;
  std::string path = tmp.path("logits.npy");
  std::vector<float> data = {0.5f, -1.0f, 2.25f, 3.0f, -0.0f, 1e30f};
  Diagnostics diags;
  ASSERT_TRUE(writeNpyFloat32(path, data.data(), {2, 3}, diags)) << diags.str();

  std::string bytes;
  ASSERT_TRUE(matc::spec::readFile(path, bytes, diags));
  std::size_t dataStart = 10 + headerLength(bytes);
  EXPECT_EQ(dataStart % 64, 0u);
  ASSERT_EQ(bytes.size(), dataStart + data.size() * 4);
  EXPECT_NE(bytes.find("'shape': (2, 3)"), std::string::npos);
  std::vector<float> readBack(data.size());
  std::memcpy(readBack.data(), bytes.data() + dataStart,
              bytes.size() - dataStart);
  EXPECT_EQ(readBack, data);
  // Nothing else in the directory: the temporary was renamed into place.
  std::size_t entries = 0;
  for (const auto &entry : std::filesystem::directory_iterator(tmp.dir())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST(NpyWriterTest, UnwritableDirectoryIsAnErrorNamingThePath) {
  TempDir tmp;
  std::string path = tmp.path("missing-dir/logits.npy");
  float value = 1;
  Diagnostics diags;
  EXPECT_FALSE(writeNpyFloat32(path, &value, {1}, diags));
  EXPECT_NE(diags.str().find(path), std::string::npos) << diags.str();
  EXPECT_FALSE(std::filesystem::exists(path));
}

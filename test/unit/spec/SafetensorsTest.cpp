#include "matc/spec/Safetensors.h"

#include "SpecTestSupport.h"
#include "TempDir.h"
#include "matc/spec/FileIO.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

using namespace matc::spec;
using matc::test::hasError;
using matc::test::hasWarning;
using matc::test::safetensorsBytes;
using matc::test::TempDir;

namespace {

std::optional<SafetensorsHeader> parseBytes(const std::string &bytes,
                                            Diagnostics &diags) {
  return parseSafetensorsHeader(reinterpret_cast<const uint8_t *>(bytes.data()),
                                bytes.size(), diags);
}

Diagnostics rejectedHeader(const std::string &header, uint64_t dataSize) {
  Diagnostics diags;
  EXPECT_FALSE(parseBytes(safetensorsBytes(header, dataSize), diags)) << header;
  EXPECT_TRUE(diags.hasErrors());
  return diags;
}

} // namespace

TEST(SafetensorsTest, WriteThenParseRoundTrips) {
  TempDir tmp;
  std::vector<float> f32 = {1.0f, -2.5f, 3.25f, 0.0f, 5.0f, 6.0f};
  std::vector<uint16_t> bf16 = {floatToBf16(1.0f), floatToBf16(-1.0f),
                                floatToBf16(0.5f)};
  std::vector<uint16_t> f16 = {0x3c00};
  std::vector<TensorData> tensors = {
      {"b.weight", DType::F32, {2, 3}, f32.data(), f32.size() * 4},
      {"a.bias", DType::BF16, {3}, bf16.data(), bf16.size() * 2},
      {"scalar", DType::F16, {}, f16.data(), 2},
      {"empty", DType::F32, {0, 4}, nullptr, 0},
  };
  std::string path = tmp.path("w.safetensors");
  Diagnostics diags(path);
  ASSERT_TRUE(writeSafetensors(path, tensors, {{"format", "pt"}}, diags))
      << diags.str();
  std::string bytes;
  ASSERT_TRUE(readFile(path, bytes, diags));

  std::optional<SafetensorsHeader> header = parseBytes(bytes, diags);
  ASSERT_TRUE(header) << diags.str();
  EXPECT_TRUE(diags.all().empty()) << diags.str();
  EXPECT_EQ(header->dataStart % 8, 0u);
  EXPECT_EQ(header->dataStart, 8 + header->headerSize);
  EXPECT_EQ(header->metadata,
            (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(header->tensors.size(), 4u);
  // The writer's order is kept, with contiguous offsets.
  EXPECT_EQ(header->tensors[0].name, "b.weight");
  EXPECT_EQ(header->tensors[1].name, "a.bias");
  const TensorInfo *weight = header->find("b.weight");
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(weight->dtype, DType::F32);
  EXPECT_EQ(weight->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(weight->numElements(), 6);
  EXPECT_EQ(weight->begin, 0u);
  EXPECT_EQ(weight->end, 24u);
  const TensorInfo *bias = header->find("a.bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->dtype, DType::BF16);
  EXPECT_EQ(bias->begin, 24u);
  EXPECT_EQ(bias->end, 30u);
  EXPECT_EQ(header->find("scalar")->numElements(), 1);
  EXPECT_EQ(header->find("scalar")->dtype, DType::F16);
  EXPECT_EQ(header->find("empty")->numElements(), 0);
  EXPECT_EQ(header->find("missing"), nullptr);
  EXPECT_EQ(bytes.size(), header->dataStart + 32);
  EXPECT_EQ(std::memcmp(bytes.data() + header->dataStart + weight->begin,
                        f32.data(), 24),
            0);
  EXPECT_EQ(std::memcmp(bytes.data() + header->dataStart + bias->begin,
                        bf16.data(), 6),
            0);

  std::optional<SafetensorsHeader> loaded = loadSafetensorsHeader(path, diags);
  ASSERT_TRUE(loaded) << diags.str();
  EXPECT_EQ(loaded->tensors.size(), 4u);
  EXPECT_EQ(loaded->dataStart, header->dataStart);
}

TEST(SafetensorsTest, EveryTruncationOfAFileIsAnError) {
  TempDir tmp;
  std::vector<float> values(10, 1.0f);
  std::string path = tmp.path("w.safetensors");
  Diagnostics diags;
  ASSERT_TRUE(writeSafetensors(path,
                               {{"a", DType::F32, {2, 3}, values.data(), 24},
                                {"b", DType::F32, {4}, values.data(), 16}},
                               {{"format", "pt"}}, diags));
  std::string bytes;
  ASSERT_TRUE(readFile(path, bytes, diags));
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    Diagnostics truncated;
    EXPECT_FALSE(parseBytes(bytes.substr(0, length), truncated)) << length;
    EXPECT_TRUE(truncated.hasErrors()) << length;
  }
  EXPECT_TRUE(parseBytes(bytes, diags)) << diags.str();
}

TEST(SafetensorsTest, WriterLeavesNoTemporaryFile) {
  TempDir tmp;
  float value = 1;
  Diagnostics diags;
  ASSERT_TRUE(writeSafetensors(tmp.path("w.safetensors"),
                               {{"x", DType::F32, {1}, &value, 4}}, {}, diags));
  int files = 0;
  for (const auto &entry : std::filesystem::directory_iterator(tmp.dir())) {
    EXPECT_EQ(entry.path().filename(), "w.safetensors");
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(SafetensorsTest, WriterRejectsInconsistentTensors) {
  TempDir tmp;
  float values[4] = {};
  Diagnostics diags;
  EXPECT_FALSE(writeSafetensors(tmp.path("w.safetensors"),
                                {{"x", DType::F32, {2, 3}, values, 16},
                                 {"y", DType::F32, {1}, values, 4},
                                 {"y", DType::F32, {1}, values, 4}},
                                {}, diags));
  EXPECT_TRUE(hasError(diags, {"x: 16 bytes given, but F32 [2, 3] needs 24"}));
  EXPECT_TRUE(hasError(diags, {"y: written more than once"}));
  EXPECT_FALSE(std::filesystem::exists(tmp.path("w.safetensors")));
}

TEST(SafetensorsTest, UnwritablePathIsAnErrorNamingIt) {
  TempDir tmp;
  float value = 1;
  std::string path = tmp.path("missing-dir/w.safetensors");
  Diagnostics diags;
  EXPECT_FALSE(
      writeSafetensors(path, {{"x", DType::F32, {1}, &value, 4}}, {}, diags));
  EXPECT_TRUE(hasError(diags, {path}));
}

TEST(SafetensorsTest, FileShorterThanTheLengthPrefix) {
  Diagnostics diags;
  EXPECT_FALSE(parseBytes("abc", diags));
  EXPECT_TRUE(hasError(diags, {"file is 3 bytes, too short"}));
  Diagnostics empty;
  EXPECT_FALSE(parseSafetensorsHeader(nullptr, 0, empty));
  EXPECT_TRUE(hasError(empty, {"file is 0 bytes"}));
}

TEST(SafetensorsTest, HeaderLengthPastTheEndOfTheFile) {
  std::string bytes = safetensorsBytes("{}", 0);
  bytes[0] = 100; // claims 100 header bytes in a 10-byte file
  Diagnostics diags;
  EXPECT_FALSE(parseBytes(bytes, diags));
  EXPECT_TRUE(hasError(diags, {"header length 100 runs past the end of the "
                               "file (10 bytes)"}));
  bytes = std::string(7, '\xff') + '\x7f' + "{}";
  EXPECT_FALSE(parseBytes(bytes, diags));
  EXPECT_TRUE(hasError(diags, {"runs past the end of the file"}));
}

TEST(SafetensorsTest, HeaderMustBeAJsonObject) {
  EXPECT_TRUE(hasError(rejectedHeader(R"({"x": {"dtype": "F32", )", 0),
                       {"safetensors header: invalid JSON"}));
  EXPECT_TRUE(hasError(rejectedHeader("[1]", 0),
                       {"safetensors header: expected a JSON object"}));
  EXPECT_TRUE(hasError(rejectedHeader(R"({"x": 3})", 0),
                       {"x: expected an object with dtype"}));
}

TEST(SafetensorsTest, EndPastTheDataIsNamedWithTheTensor) {
  Diagnostics diags = rejectedHeader(
      R"({"model.layers.0.mlp.up_proj.weight": {"dtype": "F32",
          "shape": [32, 32], "data_offsets": [0, 4096]}})",
      2048);
  EXPECT_TRUE(hasError(diags, {"model.layers.0.mlp.up_proj.weight: "
                               "data_offsets [0, 4096] end past the end of "
                               "the data (2048 bytes)"}));
}

TEST(SafetensorsTest, OffsetsMustMatchDtypeAndShape) {
  Diagnostics diags = rejectedHeader(
      R"({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}})",
      16);
  EXPECT_TRUE(hasError(diags, {"w: data_offsets [0, 8] hold 8 bytes, but "
                               "BF16 [2, 3] needs 12"}));
  diags = rejectedHeader(
      R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296],
                "data_offsets": [0, 8]}})",
      16);
  EXPECT_TRUE(hasError(diags, {"w:", "needs more than 2^64"}));
}

TEST(SafetensorsTest, OverlappingTensorsAreErrors) {
  Diagnostics diags = rejectedHeader(
      R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
      16);
  EXPECT_TRUE(hasError(diags, {"b: data_offsets [8, 16] overlap a's "
                               "data_offsets [0, 16]"}));
  // Sharing only a boundary, or being empty, is not an overlap.
  Diagnostics fine;
  EXPECT_TRUE(parseBytes(
      safetensorsBytes(
          R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
              "c": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
          16),
      fine))
      << fine.str();
}

TEST(SafetensorsTest, UnsupportedDtypeNamesTensorAndDtype) {
  EXPECT_TRUE(hasError(
      rejectedHeader(
          R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})",
          8),
      {"w: dtype F64 not supported (expected F32, BF16 or F16)"}));
  EXPECT_TRUE(hasError(
      rejectedHeader(
          R"({"ids": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})",
          8),
      {"ids: dtype I64 not supported"}));
  EXPECT_TRUE(hasError(
      rejectedHeader(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4),
      {"w: expected dtype"}));
}

TEST(SafetensorsTest, MalformedShapeAndOffsets) {
  EXPECT_TRUE(hasError(
      rejectedHeader(
          R"({"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}})",
          8),
      {"w: expected shape as a list of non-negative integers, got [2,-1]"}));
  EXPECT_TRUE(hasError(
      rejectedHeader(
          R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})",
          8),
      {"w: expected data_offsets [begin, end] with 0 <= begin <= end"}));
  EXPECT_TRUE(hasError(
      rejectedHeader(
          R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", 8),
      {"w: expected data_offsets"}));
  EXPECT_TRUE(hasError(
      rejectedHeader(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4),
      {"w: expected shape", "got none"}));
}

TEST(SafetensorsTest, MetadataMustMapStringsToStrings) {
  Diagnostics diags = rejectedHeader(R"({"__metadata__": {"format": 1}})", 0);
  EXPECT_TRUE(hasError(diags, {"__metadata__.format: expected a string"}));
  diags = rejectedHeader(R"({"__metadata__": []})", 0);
  EXPECT_TRUE(hasError(diags, {"__metadata__: expected an object"}));
}

TEST(SafetensorsTest, UnknownEntryFieldsWarn) {
  Diagnostics diags;
  EXPECT_TRUE(
      parseBytes(safetensorsBytes(R"({"w": {"dtype": "F32", "shape": [1],
                                 "data_offsets": [0, 4], "extra": 1}})",
                                  4),
                 diags));
  EXPECT_TRUE(hasWarning(diags, {"w: unknown field 'extra' ignored"}));
}

TEST(SafetensorsTest, LoadHeaderOfATruncatedFile) {
  TempDir tmp;
  std::string path = tmp.path("short.safetensors");
  Diagnostics diags(path);
  ASSERT_TRUE(writeFileAtomically(path, "1234", diags));
  EXPECT_FALSE(loadSafetensorsHeader(path, diags));
  EXPECT_TRUE(hasError(diags, {path + ": file is 4 bytes, too short"}));
  Diagnostics missing;
  EXPECT_FALSE(loadSafetensorsHeader(tmp.path("absent"), missing));
  EXPECT_TRUE(hasError(missing, {tmp.path("absent"), "cannot open"}));
}

TEST(SafetensorsTest, DtypeNamesAndSizes) {
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::F16), 2u);
  for (DType dtype : {DType::F32, DType::BF16, DType::F16})
    EXPECT_EQ(parseDTypeName(dtypeName(dtype)), dtype);
  EXPECT_FALSE(parseDTypeName("f32"));
}

TEST(Bf16Test, ExactValuesRoundTrip) {
  for (float value : {0.0f, 1.0f, -2.0f, 0.5f, 3.140625f, 1e30f, -1e-30f})
    EXPECT_EQ(bf16ToFloat(floatToBf16(value)),
              bf16ToFloat(floatToBf16(bf16ToFloat(floatToBf16(value)))));
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc000), -2.0f);
}

TEST(Bf16Test, RoundsToNearestEven) {
  auto fromBits = [](uint32_t bits) {
    float value;
    std::memcpy(&value, &bits, 4);
    return value;
  };
  EXPECT_EQ(floatToBf16(fromBits(0x3f808000)), 0x3f80); // tie, even stays
  EXPECT_EQ(floatToBf16(fromBits(0x3f818000)), 0x3f82); // tie, odd rounds up
  EXPECT_EQ(floatToBf16(fromBits(0x3f808001)), 0x3f81); // above half
  EXPECT_EQ(floatToBf16(fromBits(0x3f807fff)), 0x3f80); // below half
  EXPECT_EQ(floatToBf16(fromBits(0x7f7fffff)), 0x7f80); // overflows to inf
}

TEST(Bf16Test, InfinityAndNanSurvive) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(bf16ToFloat(floatToBf16(inf)), inf);
  EXPECT_EQ(bf16ToFloat(floatToBf16(-inf)), -inf);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::nanf("")))));
  // A NaN whose payload lives only in the low bits must not become inf.
  uint32_t lowPayloadNan = 0x7f800001;
  float nan;
  std::memcpy(&nan, &lowPayloadNan, 4);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(nan))));
}

// Resource limits (README.md, Hostile inputs).
TEST(SafetensorsTest, HeaderLongerThanTheLimitIsRefusedBeforeReading) {
  // Only the 8-byte length is read: the claimed file is 200 MiB.
  std::string prefix(8, '\0');
  uint64_t claimed = (100u << 20) + 1;
  for (int i = 0; i < 8; ++i)
    prefix[i] = static_cast<char>((claimed >> (8 * i)) & 0xff);
  Diagnostics diags;
  EXPECT_FALSE(parseSafetensorsHeader(
      reinterpret_cast<const uint8_t *>(prefix.data()), 200u << 20, diags));
  EXPECT_TRUE(hasError(diags, {"header length 104857601 exceeds the limit of "
                               "104857600 bytes"}))
      << diags.str();
}

TEST(SafetensorsTest, ShapesLargerThanTheFileAreRefused) {
  // Offsets that agree with the shape but not with the file.
  Diagnostics diags = rejectedHeader(
      R"({"w": {"dtype": "F32", "shape": [1000000, 1000000],
                "data_offsets": [0, 4000000000000]}})",
      64);
  EXPECT_TRUE(hasError(diags, {"w: data_offsets [0, 4000000000000] end past "
                               "the end of the data (64 bytes)"}));
  // Offsets that fit, a shape that does not: never trusted over the file.
  diags = rejectedHeader(
      R"({"w": {"dtype": "F32", "shape": [1000000, 1000000],
                "data_offsets": [0, 64]}})",
      64);
  EXPECT_TRUE(hasError(diags, {"hold 64 bytes, but F32 [1000000, 1000000] "
                               "needs 4000000000000"}));
  // A product that overflows in the other order of dimensions too.
  diags = rejectedHeader(
      R"({"w": {"dtype": "BF16", "shape": [2, 9223372036854775807],
                "data_offsets": [0, 64]}})",
      64);
  EXPECT_TRUE(hasError(diags, {"needs more than 2^64"}));
}

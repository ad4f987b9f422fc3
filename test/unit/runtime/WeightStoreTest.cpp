#include "matrt/WeightStore.h"

#include "RuntimeTestSupport.h"
#include "TempDir.h"
#include "matc/spec/FileIO.h"
#include "spec/SpecTestSupport.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::spec::DType;
using matc::spec::TensorData;
using matc::test::hasError;
using matc::test::hasWarning;
using matc::test::TempDir;

namespace {

Manifest manifestFor(const std::string &dtype = "F32") {
  Diagnostics diags;
  std::optional<Manifest> manifest =
      parseManifest(matc::test::toyManifest("16,16", dtype), diags);
  EXPECT_TRUE(manifest) << diags.str();
  return *manifest;
}

// The embedding holds 0, 1, 2, ... so conversions can be checked exactly.
std::vector<float> countingEmbedding() {
  std::vector<float> values(256 * 8);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i % 251) * 0.5f;
  return values;
}

bool write(const std::string &path, const std::vector<TensorData> &tensors) {
  Diagnostics diags(path);
  bool ok = matc::spec::writeSafetensors(path, tensors, {}, diags);
  EXPECT_TRUE(ok) << diags.str();
  return ok;
}

} // namespace

TEST(WeightStoreTest, MatchingTensorsAreUsedInPlace) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  std::vector<float> embed = countingEmbedding(), norm(8, 1.0f);
  // An unused extra tensor is fine: a universal checkpoint holds more than a
  // sliced binary reads.
  std::vector<float> extra(3, 2.0f);
  ASSERT_TRUE(
      write(path, {{"extra", DType::F32, {3}, extra.data(), 12},
                   {"model.norm.weight", DType::F32, {8}, norm.data(), 32},
                   {"model.embed_tokens.weight",
                    DType::F32,
                    {256, 8},
                    embed.data(),
                    embed.size() * 4}}));
  Manifest manifest = manifestFor();
  Diagnostics diags;
  std::unique_ptr<WeightStore> store = WeightStore::load(path, manifest, diags);
  ASSERT_TRUE(store) << diags.str();
  EXPECT_TRUE(diags.all().empty()) << diags.str();
  ASSERT_EQ(store->size(), 2u);
  EXPECT_EQ(store->copiedBytes(), 0u);
  // Manifest order, not file order.
  EXPECT_EQ(std::memcmp(store->pointers()[0], embed.data(), embed.size() * 4),
            0);
  EXPECT_EQ(std::memcmp(store->pointers()[1], norm.data(), 32), 0);
}

TEST(WeightStoreTest, Bf16CheckpointIsConvertedForAnF32Binary) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  std::vector<float> embed = countingEmbedding();
  std::vector<uint16_t> embed16, norm16(8, matc::spec::floatToBf16(1.5f));
  for (float value : embed)
    embed16.push_back(matc::spec::floatToBf16(value));
  ASSERT_TRUE(write(
      path, {{"model.embed_tokens.weight",
              DType::BF16,
              {256, 8},
              embed16.data(),
              embed16.size() * 2},
             {"model.norm.weight", DType::BF16, {8}, norm16.data(), 16}}));
  Diagnostics diags;
  std::unique_ptr<WeightStore> store =
      WeightStore::load(path, manifestFor("F32"), diags);
  ASSERT_TRUE(store) << diags.str();
  EXPECT_EQ(diags.all().size(), 1u) << diags.str(); // one warning line
  EXPECT_TRUE(hasWarning(diags, {path, "converted 2 BF16 tensors to F32"}));
  EXPECT_EQ(store->copiedBytes(), (256u * 8 + 8) * 4);
  const float *converted = static_cast<const float *>(store->pointers()[0]);
  for (std::size_t i = 0; i < embed.size(); ++i)
    ASSERT_EQ(converted[i], embed[i]) << i; // halves of small ints are exact
  EXPECT_EQ(static_cast<const float *>(store->pointers()[1])[7], 1.5f);
}

TEST(WeightStoreTest, F32CheckpointIsNarrowedForABf16Binary) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  std::vector<float> embed = countingEmbedding(), norm(8, 1.0f);
  ASSERT_TRUE(
      write(path, {{"model.embed_tokens.weight",
                    DType::F32,
                    {256, 8},
                    embed.data(),
                    embed.size() * 4},
                   {"model.norm.weight", DType::F32, {8}, norm.data(), 32}}));
  Diagnostics diags;
  std::unique_ptr<WeightStore> store =
      WeightStore::load(path, manifestFor("BF16"), diags);
  ASSERT_TRUE(store) << diags.str();
  EXPECT_TRUE(hasWarning(diags, {"converted 2 F32 tensors to BF16"}));
  const uint16_t *norm16 = static_cast<const uint16_t *>(store->pointers()[1]);
  EXPECT_EQ(norm16[0], matc::spec::floatToBf16(1.0f));
}

TEST(WeightStoreTest, F16IsConvertedToo) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  std::vector<uint16_t> embed(256 * 8, 0x3c00); // 1.0
  std::vector<uint16_t> norm = {0x0000, 0x8000, 0x3800, 0xc000,
                                0x7bff, 0x0001, 0x7c00, 0x3555};
  ASSERT_TRUE(
      write(path, {{"model.embed_tokens.weight",
                    DType::F16,
                    {256, 8},
                    embed.data(),
                    embed.size() * 2},
                   {"model.norm.weight", DType::F16, {8}, norm.data(), 16}}));
  Diagnostics diags;
  std::unique_ptr<WeightStore> store =
      WeightStore::load(path, manifestFor(), diags);
  ASSERT_TRUE(store) << diags.str();
  const float *values = static_cast<const float *>(store->pointers()[1]);
  EXPECT_EQ(values[0], 0.0f);
  EXPECT_TRUE(std::signbit(values[1]));
  EXPECT_EQ(values[2], 0.5f);
  EXPECT_EQ(values[3], -2.0f);
  EXPECT_EQ(values[4], 65504.0f);
  EXPECT_EQ(values[5], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(values[6]));
  EXPECT_FLOAT_EQ(values[7], 0.33325195f);
  EXPECT_EQ(static_cast<const float *>(store->pointers()[0])[100], 1.0f);
}

TEST(WeightStoreTest, MisalignedTensorIsCopied) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  // A 2-byte tensor first leaves the next F32 tensor at offset 2.
  std::vector<float> embed = countingEmbedding(), norm(8, 3.0f);
  uint16_t pad = 0;
  ASSERT_TRUE(
      write(path, {{"pad", DType::BF16, {1}, &pad, 2},
                   {"model.norm.weight", DType::F32, {8}, norm.data(), 32},
                   {"model.embed_tokens.weight",
                    DType::F32,
                    {256, 8},
                    embed.data(),
                    embed.size() * 4}}));
  Diagnostics diags;
  std::unique_ptr<WeightStore> store =
      WeightStore::load(path, manifestFor(), diags);
  ASSERT_TRUE(store) << diags.str();
  EXPECT_TRUE(diags.all().empty())
      << diags.str(); // no dtype change, no warning
  EXPECT_EQ(store->copiedBytes(), (256u * 8 + 8) * 4);
  for (std::size_t i = 0; i < store->size(); ++i)
    EXPECT_EQ(reinterpret_cast<uintptr_t>(store->pointers()[i]) % 4, 0u);
  EXPECT_EQ(static_cast<const float *>(store->pointers()[1])[5], 3.0f);
  EXPECT_EQ(std::memcmp(store->pointers()[0], embed.data(), embed.size() * 4),
            0);
}

TEST(WeightStoreTest, MissingTensorNamesItAndTheFile) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  std::vector<float> norm(8, 1.0f);
  ASSERT_TRUE(
      write(path, {{"model.norm.weight", DType::F32, {8}, norm.data(), 32}}));
  Diagnostics diags;
  EXPECT_FALSE(WeightStore::load(path, manifestFor(), diags));
  EXPECT_TRUE(hasError(diags, {path, "model.embed_tokens.weight",
                               "missing from the checkpoint", "[256, 8]"}));
}

TEST(WeightStoreTest, WrongShapeNamesExpectedAndFound) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  std::vector<float> embed(256 * 4), norm(8, 1.0f);
  ASSERT_TRUE(
      write(path, {{"model.embed_tokens.weight",
                    DType::F32,
                    {256, 4},
                    embed.data(),
                    embed.size() * 4},
                   {"model.norm.weight", DType::F32, {8}, norm.data(), 32}}));
  Diagnostics diags;
  EXPECT_FALSE(WeightStore::load(path, manifestFor(), diags));
  EXPECT_TRUE(hasError(diags, {path, "model.embed_tokens.weight",
                               "shape [256, 4]", "expected [256, 8]"}));
}

TEST(WeightStoreTest, TruncatedFileIsAnError) {
  TempDir tmp;
  std::string path = tmp.path("w.safetensors");
  ASSERT_TRUE(matc::test::writeToyWeights(path));
  std::string bytes;
  Diagnostics diags;
  ASSERT_TRUE(matc::spec::readFile(path, bytes, diags));
  for (std::size_t keep :
       {bytes.size() - 1, std::size_t(100), std::size_t(5), std::size_t(0)}) {
    std::string cut = tmp.path("cut" + std::to_string(keep) + ".safetensors");
    ASSERT_TRUE(
        matc::spec::writeFileAtomically(cut, bytes.substr(0, keep), diags));
    Diagnostics loadDiags;
    EXPECT_FALSE(WeightStore::load(cut, manifestFor(), loadDiags)) << keep;
    EXPECT_TRUE(hasError(loadDiags, {cut})) << keep;
  }
}

TEST(WeightStoreTest, UnreadablePathsAreErrors) {
  TempDir tmp;
  Diagnostics diags;
  EXPECT_FALSE(
      WeightStore::load(tmp.path("absent.safetensors"), manifestFor(), diags));
  EXPECT_TRUE(hasError(diags, {"absent.safetensors", "cannot open"}));
  Diagnostics dirDiags;
  EXPECT_FALSE(WeightStore::load(tmp.dir(), manifestFor(), dirDiags));
  EXPECT_TRUE(hasError(dirDiags, {"is a directory"}));
}

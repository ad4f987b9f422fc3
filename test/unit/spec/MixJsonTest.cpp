// The MatFormer Lab JSON form of a MIX, inline and as @file.
#include "matc/spec/Mix.h"

#include "SpecTestSupport.h"
#include "TempDir.h"
#include "matc/spec/FileIO.h"

#include <gtest/gtest.h>

using matc::spec::Diagnostics;
using matc::spec::formatMix;
using matc::spec::Mix;
using matc::spec::parseMix;
using matc::test::hasError;
using matc::test::hasWarning;
using matc::test::TempDir;

namespace {

const std::vector<int64_t> granularities = {32, 64, 128, 256};
const std::vector<int64_t> layerMax(4, 256);

std::string resolved(const std::string &text) {
  Diagnostics diags;
  std::optional<Mix> mix = parseMix(text, 4, granularities, layerMax, diags);
  EXPECT_TRUE(mix.has_value()) << text << ":\n" << diags.str();
  return mix ? formatMix(*mix) : "";
}

Diagnostics rejected(const std::string &text) {
  Diagnostics diags;
  EXPECT_FALSE(parseMix(text, 4, granularities, layerMax, diags))
      << "accepted: " << text;
  EXPECT_TRUE(diags.hasErrors());
  return diags;
}

} // namespace

TEST(MixJsonTest, InlineWidthsForEveryLayer) {
  EXPECT_EQ(resolved(R"({"ffn_hidden_dims": [32, 64, 128, 256]})"),
            "32,64,128,256");
  EXPECT_EQ(resolved(R"( {"ffn_hidden_dims": [0, 0, 0, 0],
                         "layers_to_skip": []} )"),
            "0,0,0,0");
}

TEST(MixJsonTest, DimsListOnlyTheKeptLayers) {
  EXPECT_EQ(resolved(R"({"ffn_hidden_dims": [32, 128],
                         "layers_to_skip": [3, 1]})"),
            "32,skip,128,skip");
  EXPECT_EQ(resolved(R"({"ffn_hidden_dims": [64, 64, 64, 64],
                         "layers_to_skip": null})"),
            "64,64,64,64");
}

TEST(MixJsonTest, DimsMustMatchTheKeptLayerCount) {
  Diagnostics diags = rejected(
      R"({"ffn_hidden_dims": [32, 64, 128], "layers_to_skip": [0, 1]})");
  EXPECT_TRUE(hasError(diags, {"ffn_hidden_dims: expected 2 widths (one per "
                               "kept layer: 4 layers, 2 skipped), got 3"}));
}

TEST(MixJsonTest, SkippedLayersMustBeUniqueAndInRange) {
  EXPECT_TRUE(hasError(
      rejected(R"({"ffn_hidden_dims": [32, 64, 128], "layers_to_skip": [4]})"),
      {"layers_to_skip[0]: layer 4 out of range: the model has 4 layers "
       "(0..3)"}));
  EXPECT_TRUE(hasError(
      rejected(R"({"ffn_hidden_dims": [32, 64], "layers_to_skip": [1, 1]})"),
      {"layers_to_skip[1]: layer 1 is listed more than once"}));
  EXPECT_TRUE(hasError(
      rejected(R"({"ffn_hidden_dims": [32, 64, 1], "layers_to_skip": [-1]})"),
      {"layers_to_skip[0]: expected a non-negative integer, got -1"}));
  EXPECT_TRUE(hasError(
      rejected(R"({"ffn_hidden_dims": [32, 64, 1], "layers_to_skip": 1})"),
      {"layers_to_skip: expected an array"}));
}

TEST(MixJsonTest, EachDimIsAValidatedWidth) {
  EXPECT_TRUE(hasError(
      rejected(R"({"ffn_hidden_dims": [32, 512], "layers_to_skip": [0, 1]})"),
      {"ffn_hidden_dims[1]", "width 512 for layer 3 out of range"}));
  EXPECT_TRUE(
      hasError(rejected(R"({"ffn_hidden_dims": [32, -1, 64, 64]})"),
               {"ffn_hidden_dims[1]: expected a non-negative integer"}));
  EXPECT_TRUE(hasError(rejected(R"({"ffn_hidden_dims": [32, "M", 64, 64]})"),
                       {"ffn_hidden_dims[1]"}));
  EXPECT_TRUE(hasError(rejected(R"({"ffn_hidden_dims": [32, 64.0, 64, 64]})"),
                       {"ffn_hidden_dims[1]"}));
  Diagnostics diags;
  ASSERT_TRUE(parseMix(R"({"ffn_hidden_dims": [32, 100, 64, 64]})", 4,
                       granularities, layerMax, diags));
  EXPECT_TRUE(
      hasWarning(diags, {"ffn_hidden_dims[1]", "not a trained granularity"}));
}

TEST(MixJsonTest, ShapeOfTheDocumentIsChecked) {
  EXPECT_TRUE(hasError(rejected(R"({"layers_to_skip": [1]})"),
                       {"ffn_hidden_dims: required field missing"}));
  EXPECT_TRUE(hasError(rejected(R"({"ffn_hidden_dims": 32})"),
                       {"ffn_hidden_dims: expected an array"}));
  EXPECT_TRUE(hasError(rejected(R"({"ffn_hidden_dims": [32, )"),
                       {"mix: invalid JSON"}));
}

TEST(MixJsonTest, UnknownKeysWarn) {
  Diagnostics diags;
  ASSERT_TRUE(parseMix(R"({"ffn_hidden_dims": [32, 64, 128, 256],
                           "name": "mix-1"})",
                       4, granularities, layerMax, diags));
  EXPECT_TRUE(hasWarning(diags, {"unknown field 'name' ignored"}));
}

TEST(MixJsonTest, AtFileReadsTheJsonFile) {
  TempDir tmp;
  Diagnostics diags;
  std::string path = tmp.path("mix.json");
  ASSERT_TRUE(matc::spec::writeFileAtomically(
      path, R"({"ffn_hidden_dims": [64, 256, 32], "layers_to_skip": [2]})",
      diags));
  EXPECT_EQ(resolved("@" + path), "64,256,skip,32");
  EXPECT_EQ(resolved("@ " + path + " "), "64,256,skip,32");
}

TEST(MixJsonTest, AtFileErrorsNameTheFile) {
  TempDir tmp;
  Diagnostics diags;
  std::string path = tmp.path("bad.json");
  ASSERT_TRUE(matc::spec::writeFileAtomically(
      path, R"({"ffn_hidden_dims": [64, 999, 32, 32]})", diags));
  EXPECT_TRUE(hasError(rejected("@" + path),
                       {path + ": ffn_hidden_dims[1]", "width 999"}));
  ASSERT_TRUE(matc::spec::writeFileAtomically(path, "S,M,L,XL", diags));
  EXPECT_TRUE(hasError(rejected("@" + path), {path, "invalid JSON"}));
}

TEST(MixJsonTest, UnreadableAtFileIsAnErrorNamingThePath) {
  TempDir tmp;
  std::string path = tmp.path("missing.json");
  EXPECT_TRUE(hasError(rejected("@" + path), {path, "cannot open"}));
  EXPECT_TRUE(hasError(rejected("@"), {"'@' must be followed by"}));
}

#include "matrt/Manifest.h"
#include "matrt/MixSelection.h"

#include "RuntimeTestSupport.h"
#include "spec/SpecTestSupport.h"

#include <gtest/gtest.h>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::test::hasError;
using matc::test::hasWarning;
using matc::test::toyManifest;
using matc::test::toyManifestJson;

namespace {

Manifest parsed(const std::string &text) {
  Diagnostics diags;
  std::optional<Manifest> manifest = parseManifest(text, diags);
  EXPECT_TRUE(manifest) << diags.str();
  return manifest ? *manifest : Manifest();
}

Diagnostics rejected(const std::string &text) {
  Diagnostics diags("compiled model manifest");
  EXPECT_FALSE(parseManifest(text, diags)) << text;
  EXPECT_TRUE(diags.hasErrors());
  return diags;
}

} // namespace

TEST(ManifestTest, ParsesTheToyManifest) {
  Manifest manifest = parsed(toyManifest("8,skip"));
  EXPECT_EQ(manifest.spec.numLayers, 2);
  EXPECT_EQ(manifest.spec.numKvHeads, 1);
  EXPECT_EQ(manifest.mixText, "8,skip");
  EXPECT_FALSE(manifest.elastic);
  ASSERT_EQ(manifest.mix.size(), 2u);
  EXPECT_EQ(manifest.mix[0].width, 8);
  EXPECT_TRUE(manifest.mix[1].skip);
  EXPECT_EQ(manifest.weightDtype, matc::spec::DType::F32);
  ASSERT_EQ(manifest.weights.size(), 2u);
  EXPECT_EQ(manifest.weights[0].name, "model.embed_tokens.weight");
  EXPECT_EQ(manifest.weights[0].shape, (std::vector<int64_t>{256, 8}));
  EXPECT_EQ(manifest.kvCache.numElements(), 1 * 16 * 1 * 4); // one kept layer
  EXPECT_EQ(manifest.vocabSize, 256);
  EXPECT_EQ(manifest.maxPositions, 16);
}

TEST(ManifestTest, ElasticUsesTheSpecDefaultMix) {
  Manifest manifest = parsed(toyManifest("elastic", "BF16"));
  EXPECT_TRUE(manifest.elastic);
  EXPECT_EQ(matc::spec::formatMix(manifest.mix), "16,16");
  EXPECT_EQ(manifest.weightDtype, matc::spec::DType::BF16);
}

TEST(ManifestTest, BrokenManifestsAreErrors) {
  EXPECT_TRUE(hasError(rejected("not json"), {"not a JSON object"}));
  auto json = toyManifestJson();
  json["matc_abi"] = 1;
  EXPECT_TRUE(hasError(rejected(json.dump()), {"matc_abi", "ABI 2", "uses 1"}));
  json = toyManifestJson();
  json.erase("kv_cache");
  EXPECT_TRUE(hasError(rejected(json.dump()), {"kv_cache: missing"}));
  json = toyManifestJson();
  json["vocab_size"] = 300;
  EXPECT_TRUE(hasError(rejected(json.dump()), {"vocab_size", "300"}));
  json = toyManifestJson();
  json["kv_cache"]["head_dim"] = 8;
  EXPECT_TRUE(hasError(rejected(json.dump()), {"kv_cache.head_dim"}));
  json = toyManifestJson();
  json["weight_dtype"] = "F16";
  EXPECT_TRUE(hasError(rejected(json.dump()), {"weight_dtype", "F16"}));
  json = toyManifestJson();
  json["config"]["hidden_size"] = "eight";
  EXPECT_TRUE(hasError(rejected(json.dump()), {"config", "hidden_size"}));
  json = toyManifestJson();
  json["mix"] = "XXL";
  EXPECT_TRUE(hasError(rejected(json.dump()), {"mix", "XXL"}));
  json = toyManifestJson();
  json["mix"] = "";
  EXPECT_TRUE(hasError(rejected(json.dump()), {"mix: empty", "elastic"}));
  json = toyManifestJson();
  json["weights"][1]["shape"] = {-1};
  EXPECT_TRUE(hasError(rejected(json.dump()), {"weights[1]"}));
}

TEST(MixSelectionTest, StaticBinaryRunsOnlyItsMix) {
  Manifest manifest = parsed(toyManifest("8,16"));
  Diagnostics diags;
  // Absent, or the same mix spelled differently, is fine.
  ASSERT_TRUE(selectMix(manifest, "", diags));
  std::optional<matc::spec::Mix> same = selectMix(manifest, "L,XL", diags);
  ASSERT_TRUE(same) << diags.str();
  EXPECT_EQ(*same, manifest.mix);

  std::optional<matc::spec::Mix> other = selectMix(manifest, "S", diags);
  EXPECT_FALSE(other);
  EXPECT_TRUE(hasError(diags, {"--mix", "this binary was compiled for mix 8,16",
                               "--mix S (2,2) differs", "--elastic"}));
}

TEST(MixSelectionTest, BadMixTextIsReportedAtTheFlag) {
  Manifest manifest = parsed(toyManifest());
  Diagnostics diags;
  EXPECT_FALSE(selectMix(manifest, "S,M,L", diags));
  EXPECT_TRUE(hasError(diags, {"--mix"}));
}

TEST(MixSelectionTest, ElasticBinaryRunsAnyMixAndPassesWarnings) {
  Manifest manifest = parsed(toyManifest("elastic"));
  Diagnostics diags;
  std::optional<matc::spec::Mix> mix = selectMix(manifest, "5,skip", diags);
  ASSERT_TRUE(mix) << diags.str();
  EXPECT_EQ(matc::spec::formatMix(*mix), "5,skip");
  EXPECT_TRUE(hasWarning(diags, {"--mix", "not a trained granularity"}));
}

TEST(MixSelectionTest, DraftMixNeedsAnElasticBinary) {
  Diagnostics diags;
  EXPECT_FALSE(selectDraftMix(parsed(toyManifest()), "S", diags));
  EXPECT_TRUE(hasError(diags, {"--draft-mix",
                               "needs a binary compiled with "
                               "--elastic",
                               "runs only mix 16,16"}));

  Manifest elastic = parsed(toyManifest("elastic"));
  std::optional<matc::spec::Mix> draft = selectDraftMix(elastic, "S", diags);
  ASSERT_TRUE(draft) << diags.str();
  EXPECT_EQ(matc::spec::formatMix(*draft), "2,2");
  Diagnostics bad;
  EXPECT_FALSE(selectDraftMix(elastic, "S,S,S", bad));
  EXPECT_TRUE(hasError(bad, {"--draft-mix"}));
  EXPECT_FALSE(selectDraftMix(elastic, "", bad));
  EXPECT_TRUE(hasError(bad, {"--draft-mix: empty"}));
}

TEST(MixSelectionTest, ARequestFieldIsNamedOnce) {
  Diagnostics diags;
  EXPECT_FALSE(selectMix(parsed(toyManifest()), "S", diags, "field 'mix'"));
  EXPECT_TRUE(hasError(diags, {"field 'mix': this binary was compiled for "
                               "mix 16,16; S (2,2) differs"}));
}

TEST(ManifestTest, ElasticFlagMustAgreeWithTheMix) {
  auto json = toyManifestJson("elastic");
  json.erase("elastic"); // older manifests say only "mix": "elastic"
  EXPECT_TRUE(parsed(json.dump()).elastic);
  json["elastic"] = false;
  EXPECT_TRUE(hasError(rejected(json.dump()), {"elastic", "expected true"}));
  json = toyManifestJson("16,16");
  json["elastic"] = true;
  EXPECT_TRUE(
      hasError(rejected(json.dump()), {"elastic", "compiled mix 16,16"}));
  json["elastic"] = "yes";
  EXPECT_TRUE(hasError(rejected(json.dump()), {"elastic"}));
}

TEST(ManifestTest, CacheLayersMatchTheLayersRun) {
  // Static: one slot per kept layer; elastic: one per layer of the spec.
  EXPECT_EQ(parsed(toyManifest("8,skip")).kvCache.layers, 1);
  auto json = toyManifestJson("8,skip");
  json["kv_cache"]["layers"] = 2;
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"kv_cache.layers: 2 differs from the kept layers of "
                        "mix 8,skip, 1"}));
  json = toyManifestJson("elastic");
  json["kv_cache"]["layers"] = 1;
  EXPECT_TRUE(
      hasError(rejected(json.dump()), {"kv_cache.layers: 1 differs from "
                                       "config.num_hidden_layers 2"}));
}

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
  ASSERT_EQ(manifest.buffers.size(), 5u);
  EXPECT_EQ(manifest.buffer("tokens").dtype, "i32");
  EXPECT_EQ(manifest.buffer("tokens").shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(manifest.buffer("logits").dtype, "f32");
  EXPECT_EQ(manifest.buffer("logits").shape, (std::vector<int64_t>{16, 256}));
  EXPECT_EQ(manifest.buffer("layer_widths").dtype, "i64");
  EXPECT_EQ(manifest.buffer("layer_widths").shape, (std::vector<int64_t>{2}));
  // One kept layer; the layouts differ, the element counts do not.
  EXPECT_EQ(manifest.buffer("k_cache").dtype, "f32");
  EXPECT_EQ(manifest.buffer("k_cache").shape,
            (std::vector<int64_t>{1, 16, 1, 4}));
  EXPECT_EQ(manifest.buffer("k_cache").numElements(), 1 * 16 * 1 * 4);
  EXPECT_EQ(manifest.buffer("v_cache").shape,
            (std::vector<int64_t>{1, 1, 4, 16}));
  EXPECT_EQ(manifest.buffer("v_cache").numElements(), 1 * 16 * 1 * 4);
  EXPECT_TRUE(manifest.buffer("weights").shape.empty()); // not a buffer
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
  EXPECT_TRUE(hasError(rejected(json.dump()), {"matc_abi", "ABI 3", "uses 1"}));
  json = toyManifestJson();
  json.erase("buffers");
  EXPECT_TRUE(hasError(rejected(json.dump()), {"buffers: missing"}));
  json = toyManifestJson();
  json["vocab_size"] = 300;
  EXPECT_TRUE(hasError(rejected(json.dump()), {"vocab_size", "300"}));
  json = toyManifestJson();
  json["buffers"]["k_cache"]["shape"] = {2, 16, 1, 8}; // head_dim 8, not 4
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.k_cache.shape", "config.head_dim 4"}));
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

TEST(ManifestTest, TrainFlag) {
  // Absent means a binary compiled without --train.
  EXPECT_FALSE(parsed(toyManifest()).train);
  auto json = toyManifestJson("elastic");
  json["train"] = true;
  EXPECT_TRUE(parsed(json.dump()).train);
  json["train"] = false;
  EXPECT_FALSE(parsed(json.dump()).train);
  json["train"] = "yes";
  EXPECT_TRUE(
      hasError(rejected(json.dump()), {"train", "expected true or false"}));
}

TEST(ManifestTest, CacheLayersMatchTheLayersRun) {
  // Static: one slot per kept layer; elastic: one per layer of the spec.
  EXPECT_EQ(parsed(toyManifest("8,skip")).buffer("k_cache").numElements(),
            1 * 16 * 1 * 4);
  EXPECT_EQ(parsed(toyManifest("elastic")).buffer("v_cache").numElements(),
            2 * 16 * 1 * 4);
  auto json = toyManifestJson("8,skip");
  json["buffers"]["k_cache"]["shape"] = {2, 16, 1, 4};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.k_cache.shape: [2, 16, 1, 4] holds 128 "
                        "elements, expected 64: 1 cache layers (the kept "
                        "layers of mix 8,skip) x max_positions 16 x "
                        "config.num_key_value_heads 1 x config.head_dim 4"}));
  json = toyManifestJson("elastic");
  json["buffers"]["v_cache"]["shape"] = {1, 1, 4, 16};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.v_cache.shape: [1, 1, 4, 16] holds 64 "
                        "elements, expected 128: 2 cache layers "
                        "(config.num_hidden_layers)"}));
  // Only the count is the runtime's business: any layout of it is fine.
  json = toyManifestJson("elastic");
  json["buffers"]["k_cache"]["shape"] = {128};
  json["buffers"]["v_cache"]["shape"] = {4, 2, 16};
  EXPECT_EQ(parsed(json.dump()).buffer("v_cache").shape,
            (std::vector<int64_t>{4, 2, 16}));
}

TEST(ManifestTest, AnOtherAbiIsRefused) {
  for (int abi : {2, 4}) {
    auto json = toyManifestJson();
    json["matc_abi"] = abi;
    Diagnostics diags = rejected(json.dump());
    EXPECT_TRUE(hasError(diags, {"matc_abi: this runtime implements ABI 3, "
                                 "the compiled model uses " +
                                     std::to_string(abi) +
                                     "; link it with a matching runtime"}))
        << diags.str();
    // Nothing else is reported: the rest may mean something else there.
    EXPECT_EQ(diags.errorCount(), 1u) << diags.str();
  }
  // An ABI 2 manifest as the previous compiler wrote it.
  auto json = toyManifestJson();
  json["matc_abi"] = 2;
  json.erase("buffers");
  json["kv_cache"] = {{"layers", 2},
                      {"max_positions", 16},
                      {"kv_heads", 1},
                      {"head_dim", 4}};
  EXPECT_TRUE(hasError(rejected(json.dump()), {"matc_abi", "uses 2"}));
  json = toyManifestJson();
  json["matc_abi"] = "3";
  EXPECT_TRUE(hasError(rejected(json.dump()), {"matc_abi", "integer"}));
  json.erase("matc_abi");
  EXPECT_TRUE(hasError(rejected(json.dump()), {"matc_abi: missing"}));
}

// Every buffer of the entry point is named, typed and shaped; a problem
// names the buffer and what about it is wrong.
TEST(ManifestTest, BuffersAreCheckedByName) {
  for (const char *name :
       {"tokens", "logits", "k_cache", "v_cache", "layer_widths"}) {
    SCOPED_TRACE(name);
    std::string where = std::string("buffers.") + name;
    auto json = toyManifestJson();
    json["buffers"].erase(name);
    EXPECT_TRUE(hasError(rejected(json.dump()), {where + ": missing"}));
    json = toyManifestJson();
    json["buffers"][name] = {1, 2};
    EXPECT_TRUE(hasError(rejected(json.dump()),
                         {where + ": expected {\"dtype\": string, "
                                  "\"shape\": [ints]}"}));
    json = toyManifestJson();
    json["buffers"][name].erase("shape");
    EXPECT_TRUE(hasError(rejected(json.dump()), {where + ": expected"}));
    json = toyManifestJson();
    json["buffers"][name]["dtype"] = "f16";
    EXPECT_TRUE(
        hasError(rejected(json.dump()), {where + ".dtype: expected \"", "f16"}));
    json = toyManifestJson();
    json["buffers"][name]["shape"] = {16, -4};
    EXPECT_TRUE(hasError(rejected(json.dump()),
                         {where + ".shape: expected non-negative integer "
                                  "dimensions, got -4"}));
    json = toyManifestJson();
    json["buffers"][name]["shape"] = {16, 2.5};
    EXPECT_TRUE(hasError(rejected(json.dump()), {where + ".shape", "2.5"}));
    // Absurd sizes are refused before anything is multiplied or allocated.
    json = toyManifestJson();
    json["buffers"][name]["shape"] = {int64_t(1) << 30, int64_t(1) << 30,
                                      int64_t(1) << 30};
    EXPECT_TRUE(hasError(rejected(json.dump()),
                         {where + ".shape", "more than 2^40 elements"}));
    json = toyManifestJson();
    json["buffers"][name]["shape"] = {uint64_t(1) << 63};
    EXPECT_TRUE(hasError(rejected(json.dump()), {where + ".shape"}));
    // Right type, wrong size.
    json = toyManifestJson();
    json["buffers"][name]["shape"] = {3};
    EXPECT_TRUE(hasError(rejected(json.dump()), {where + ".shape: [3]"}));
  }
  // The dtypes are those of the entry point's arguments.
  auto json = toyManifestJson();
  json["buffers"]["tokens"]["dtype"] = "i64";
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.tokens.dtype: expected \"i32\", got "
                        "\"i64\""}));
  json = toyManifestJson();
  json["buffers"]["layer_widths"]["dtype"] = "i32";
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.layer_widths.dtype: expected \"i64\""}));
  json = toyManifestJson();
  json["buffers"]["k_cache"]["dtype"] = "bf16";
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.k_cache.dtype: expected \"f32\""}));
}

TEST(ManifestTest, BufferShapesFollowTheModel) {
  auto json = toyManifestJson();
  json["buffers"]["tokens"]["shape"] = {8};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.tokens.shape: [8] differs from "
                        "[max_positions] = [16]"}));
  json = toyManifestJson();
  json["buffers"]["logits"]["shape"] = {16, 255};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.logits.shape: [16, 255] differs from "
                        "[max_positions, vocab_size] = [16, 256]"}));
  json = toyManifestJson();
  json["buffers"]["logits"]["shape"] = {256, 16};
  EXPECT_TRUE(hasError(rejected(json.dump()), {"buffers.logits.shape"}));
  json = toyManifestJson();
  json["buffers"]["layer_widths"]["shape"] = {1};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.layer_widths.shape: [1] differs from "
                        "[config.num_hidden_layers] = [2]"}));
  // max_positions moves tokens, logits and both caches together.
  json = toyManifestJson();
  json["max_positions"] = 8;
  Diagnostics diags = rejected(json.dump());
  EXPECT_TRUE(hasError(diags, {"buffers.tokens.shape: [16] differs"}));
  EXPECT_TRUE(hasError(diags, {"buffers.logits.shape: [16, 256] differs"}));
  json = toyManifestJson();
  json["buffers"]["k_cache"]["shape"] = {2, 8, 1, 4};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.k_cache.shape: [2, 8, 1, 4] holds 64"}));
  json = toyManifestJson();
  json["buffers"]["k_cache"]["shape"] = {2, 16, 1, 0};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.k_cache.shape", "holds 0 elements"}));
}

TEST(ManifestTest, BuffersHoldExactlyTheEntryPointsBuffers) {
  auto json = toyManifestJson();
  json["buffers"]["positions"] = {{"dtype", "i64"}, {"shape", {16}}};
  EXPECT_TRUE(hasError(rejected(json.dump()),
                       {"buffers.positions: not a buffer argument of "
                        "matc_model_forward in ABI 3"}));
  json = toyManifestJson();
  json["buffers"]["weights"] = {{"dtype", "f32"}, {"shape", {1}}};
  EXPECT_TRUE(hasError(rejected(json.dump()), {"buffers.weights: not a "
                                               "buffer argument"}));
  json = toyManifestJson();
  json["buffers"] = {1, 2, 3};
  EXPECT_TRUE(hasError(rejected(json.dump()), {"buffers: expected an object"}));
}

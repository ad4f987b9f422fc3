#include "matc/spec/Mix.h"

#include "SpecTestSupport.h"

#include <gtest/gtest.h>

using matc::spec::Diagnostics;
using matc::spec::formatMix;
using matc::spec::LayerChoice;
using matc::spec::Mix;
using matc::spec::parseMix;
using matc::test::hasError;
using matc::test::hasWarning;

namespace {

const std::vector<int64_t> fourGranularities = {32, 64, 128, 256};
const std::vector<int64_t> universalWidths(4, 256);

// Resolves against a 4-layer universal model with d_ff 256, S/M/L/XL =
// 32/64/128/256; returns the widths, -1 for a skipped layer.
std::vector<int64_t>
widths(const std::string &text,
       const std::vector<int64_t> &granularities = fourGranularities,
       const std::vector<int64_t> &layerMax = universalWidths) {
  Diagnostics diags;
  std::optional<Mix> mix =
      parseMix(text, layerMax.size(), granularities, layerMax, diags);
  EXPECT_TRUE(mix.has_value()) << text << ":\n" << diags.str();
  EXPECT_FALSE(diags.hasErrors());
  std::vector<int64_t> result;
  for (const LayerChoice &choice : mix.value_or(Mix()))
    result.push_back(choice.skip ? -1 : choice.width);
  return result;
}

Diagnostics
rejected(const std::string &text,
         const std::vector<int64_t> &granularities = fourGranularities,
         const std::vector<int64_t> &layerMax = universalWidths) {
  Diagnostics diags;
  EXPECT_FALSE(parseMix(text, layerMax.size(), granularities, layerMax, diags))
      << "accepted: " << text;
  EXPECT_TRUE(diags.hasErrors());
  return diags;
}

using Widths = std::vector<int64_t>;

} // namespace

TEST(MixTest, OneNameAppliesToEveryLayer) {
  EXPECT_EQ(widths("S"), Widths(4, 32));
  EXPECT_EQ(widths("M"), Widths(4, 64));
  EXPECT_EQ(widths("L"), Widths(4, 128));
  EXPECT_EQ(widths("XL"), Widths(4, 256));
}

TEST(MixTest, GranularityIndexToken) {
  EXPECT_EQ(widths("g0"), Widths(4, 32));
  EXPECT_EQ(widths("g2"), Widths(4, 128));
  EXPECT_EQ(widths("g3"), Widths(4, 256));
}

TEST(MixTest, OneWidthAppliesToEveryLayer) {
  EXPECT_EQ(widths("128"), Widths(4, 128));
  EXPECT_EQ(widths("0"), Widths(4, 0));
  EXPECT_EQ(widths("skip"), Widths(4, -1));
}

TEST(MixTest, CommaListGivesOneTokenPerLayer) {
  EXPECT_EQ(widths("S,M,L,XL"), (Widths{32, 64, 128, 256}));
  EXPECT_EQ(widths("g0,64,0,skip"), (Widths{32, 64, 0, -1}));
}

TEST(MixTest, WhitespaceAroundTokensIsTrimmed) {
  EXPECT_EQ(widths("  S , M,\tL ,XL \n"), (Widths{32, 64, 128, 256}));
}

TEST(MixTest, SkipKeepsNoWidth) {
  Diagnostics diags;
  std::optional<Mix> mix =
      parseMix("skip,XL,XL,XL", 4, fourGranularities, universalWidths, diags);
  ASSERT_TRUE(mix);
  EXPECT_EQ((*mix)[0], (LayerChoice{true, 0}));
  EXPECT_EQ((*mix)[1], (LayerChoice{false, 256}));
}

TEST(MixTest, WrongListLengthIsAnError) {
  Diagnostics diags = rejected("S,M");
  EXPECT_TRUE(hasError(diags, {"mix: expected 4 comma-separated tokens (one "
                               "per layer), got 2"}));
  EXPECT_TRUE(hasError(rejected("S,M,L,XL,XL"), {"got 5"}));
}

TEST(MixTest, UnknownTokenNamesItsPositionAndText) {
  Diagnostics diags = rejected("S,M,XXL,XL");
  EXPECT_TRUE(hasError(diags, {"mix token 2 ('XXL'): expected S, M, L, XL, "
                               "gK (K = 0..3), a width 1..256, 0 or skip"}));
}

TEST(MixTest, TokensAreCaseSensitive) {
  EXPECT_TRUE(hasError(rejected("s"), {"mix token 0 ('s')"}));
  EXPECT_TRUE(hasError(rejected("xl"), {"mix token 0 ('xl')"}));
  EXPECT_TRUE(hasError(rejected("Skip"), {"mix token 0 ('Skip')"}));
}

TEST(MixTest, MalformedTokensAreUnknown) {
  for (const char *token : {"", "64.0", "+64", "g", "g-1", "1e3", "S M"})
    EXPECT_TRUE(hasError(rejected(token), {"expected S, M, L, XL"})) << token;
  EXPECT_TRUE(hasError(rejected("S,,L,XL"), {"mix token 1 (''): expected"}));
}

TEST(MixTest, WidthMustBeWithinDff) {
  EXPECT_TRUE(hasError(rejected("257"), {"mix token 0 ('257')", "width 257",
                                         "out of range: expected 1..256"}));
  EXPECT_TRUE(hasError(rejected("S,-5,L,XL"),
                       {"mix token 1 ('-5')", "width -5 for layer 1 out of "
                                              "range"}));
  EXPECT_TRUE(hasError(rejected("99999999999999999999999"), {"out of range"}));
}

TEST(MixTest, GranularityIndexMustExist) {
  EXPECT_TRUE(hasError(rejected("g4"),
                       {"mix token 0 ('g4')", "granularity 4 out of range"}));
  EXPECT_TRUE(hasError(rejected("g99999999999999999999"), {"out of range"}));
}

TEST(MixTest, WidthThatIsNoGranularityIsAllowedWithAWarning) {
  Diagnostics diags;
  std::optional<Mix> mix =
      parseMix("S,100,L,XL", 4, fourGranularities, universalWidths, diags);
  ASSERT_TRUE(mix) << diags.str();
  EXPECT_EQ((*mix)[1].width, 100);
  EXPECT_TRUE(hasWarning(diags, {"mix token 1 ('100')",
                                 "not a trained granularity (32, 64, 128, "
                                 "256)"}));
}

TEST(MixTest, BroadcastTokenWarnsOnce) {
  Diagnostics diags;
  ASSERT_TRUE(parseMix("100", 4, fourGranularities, universalWidths, diags));
  EXPECT_EQ(diags.all().size(), 1u) << diags.str();
}

TEST(MixTest, WithThreeGranularitiesOnlySAndXLHaveNames) {
  std::vector<int64_t> three = {64, 128, 256};
  EXPECT_EQ(widths("S", three), Widths(4, 64));
  EXPECT_EQ(widths("XL", three), Widths(4, 256));
  EXPECT_EQ(widths("g1", three), Widths(4, 128));
  EXPECT_TRUE(hasError(rejected("S,M,XL,XL", three),
                       {"mix token 1 ('M')", "M names granularity 1 of 4",
                        "this model has 3 granularities"}));
  EXPECT_TRUE(hasError(rejected("L", three), {"mix token 0 ('L')"}));
  EXPECT_TRUE(
      hasError(rejected("x", three), {"expected S, XL, gK (K = 0..2)"}));
}

TEST(MixTest, WithOneGranularitySAndXLAreTheSame) {
  std::vector<int64_t> one = {256};
  EXPECT_EQ(widths("S", one), Widths(4, 256));
  EXPECT_EQ(widths("XL", one), Widths(4, 256));
}

TEST(MixTest, FormatMixRoundTrips) {
  Mix mix = {{false, 64}, {false, 128}, {false, 0}, {true, 0}};
  EXPECT_EQ(formatMix(mix), "64,128,0,skip");
  Diagnostics diags;
  std::optional<Mix> parsed =
      parseMix(formatMix(mix), 4, fourGranularities, universalWidths, diags);
  ASSERT_TRUE(parsed) << diags.str();
  EXPECT_EQ(*parsed, mix);
}

TEST(MixTest, LayerCountMustMatchTheWidths) {
  Diagnostics diags;
  EXPECT_FALSE(parseMix("S", 3, fourGranularities, universalWidths, diags));
  EXPECT_TRUE(hasError(diags, {"3 layers with 4 layer widths"}));
}

TEST(MixTest, EmptyMixTextIsAnError) {
  EXPECT_TRUE(hasError(rejected("  "), {"mix: empty"}));
}

// A sliced submodel (per-layer intermediate_size) without granularities.
TEST(MixTest, UnknownGranularitiesAllowOnlyXLAndWidths) {
  std::vector<int64_t> layerMax = {32, 64, 0, 128};
  EXPECT_EQ(widths("XL", {}, layerMax), (Widths{32, 64, 0, 128}));
  EXPECT_EQ(widths("16,64,0,100", {}, layerMax), (Widths{16, 64, 0, 100}));
  EXPECT_TRUE(hasError(rejected("S", {}, layerMax),
                       {"mix token 0 ('S')", "declares no "
                                             "matformer.granularities"}));
  EXPECT_TRUE(hasError(rejected("g0", {}, layerMax),
                       {"declares no matformer.granularities"}));
  EXPECT_TRUE(hasError(rejected("32,65,0,128", {}, layerMax),
                       {"mix token 1 ('65')", "width 65 for layer 1 out of "
                                              "range: expected 1..64"}));
  EXPECT_TRUE(hasError(rejected("x", {}, layerMax),
                       {"expected XL, a width up to the layer's "
                        "intermediate_size"}));
  // Without known granularities there is nothing to warn about.
  Diagnostics diags;
  ASSERT_TRUE(parseMix("16,64,0,100", 4, {}, layerMax, diags));
  EXPECT_TRUE(diags.all().empty()) << diags.str();
}

TEST(MixTest, GranularityWiderThanASlicedLayerIsAnError) {
  std::vector<int64_t> layerMax = {64, 64, 128, 256};
  EXPECT_EQ(widths("S,M,L,XL", fourGranularities, layerMax),
            (Widths{32, 64, 128, 256}));
  EXPECT_TRUE(hasError(rejected("L", fourGranularities, layerMax),
                       {"granularity width 128 exceeds layer 0's width 64"}));
}

TEST(MixTest, SpecDefaultMixAppliesToEmptyText) {
  matc::spec::ModelSpec spec;
  spec.numLayers = 2;
  spec.intermediateSize = {256, 256};
  spec.granularities = fourGranularities;
  spec.defaultMix = "S,L";
  Diagnostics diags;
  std::optional<Mix> mix = parseMix("", spec, diags);
  ASSERT_TRUE(mix) << diags.str();
  EXPECT_EQ(formatMix(*mix), "32,128");
  mix = parseMix("XL", spec, diags);
  ASSERT_TRUE(mix) << diags.str();
  EXPECT_EQ(formatMix(*mix), "256,256");
}

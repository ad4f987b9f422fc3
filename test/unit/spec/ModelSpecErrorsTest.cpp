// Every malformed spec gets an error that names the field and what was
// expected (docs/REFERENCE.md, Model spec).
#include "matc/spec/ModelSpec.h"

#include "SpecTestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using matc::spec::Diagnostics;
using matc::spec::ModelSpec;
using matc::spec::parseModelSpec;
using matc::test::hasError;
using matc::test::hasWarning;
using Json = nlohmann::ordered_json;

namespace {

Json baseSpec() {
  return Json::parse(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 4,
    "num_attention_heads": 4, "intermediate_size": 256
  })",
                     nullptr, false);
}

// Parses the spec expecting failure; returns the diagnostics.
Diagnostics rejectedText(const std::string &text) {
  Diagnostics diags;
  std::optional<ModelSpec> spec = parseModelSpec(text, diags);
  EXPECT_FALSE(spec.has_value()) << "accepted:\n" << text;
  EXPECT_TRUE(diags.hasErrors());
  return diags;
}
Diagnostics rejected(const Json &config) { return rejectedText(config.dump()); }

// Parses `config` expecting success; returns the diagnostics (warnings).
Diagnostics accepted(const Json &config) {
  Diagnostics diags;
  EXPECT_TRUE(parseModelSpec(config.dump(), diags).has_value()) << diags.str();
  return diags;
}

Json with(Json config, const std::string &key, const Json &value) {
  config[key] = value;
  return config;
}

Json withMatformer(const std::string &key, const Json &value) {
  Json config = baseSpec();
  config["matformer"][key] = value;
  return config;
}

} // namespace

TEST(ModelSpecErrorsTest, TruncatedJsonGivesTheParsePosition) {
  Diagnostics diags = rejectedText("{\n  \"vocab_size\": 256,\n  \"hidden");
  EXPECT_TRUE(hasError(diags, {"invalid JSON", "line 3", "byte"}));
}

TEST(ModelSpecErrorsTest, MalformedJsonGivesTheParsePosition) {
  Diagnostics diags =
      rejectedText(R"({"vocab_size": 256,, "hidden_size": 64})");
  EXPECT_TRUE(hasError(diags, {"invalid JSON", "column 20"}));
}

TEST(ModelSpecErrorsTest, EveryTruncationOfASpecIsAnError) {
  std::string text = baseSpec().dump(2);
  for (std::size_t length = 0; length < text.size(); ++length) {
    Diagnostics diags;
    EXPECT_FALSE(parseModelSpec(text.substr(0, length), diags)) << length;
    EXPECT_TRUE(hasError(diags, {"invalid JSON"})) << length;
  }
}

TEST(ModelSpecErrorsTest, EmptyTextIsInvalidJson) {
  EXPECT_TRUE(hasError(rejectedText(""), {"invalid JSON"}));
}

TEST(ModelSpecErrorsTest, TopLevelMustBeAnObject) {
  EXPECT_TRUE(hasError(rejectedText("[1, 2]"), {"expected a JSON object"}));
  EXPECT_TRUE(hasError(rejectedText("42"), {"expected a JSON object"}));
}

TEST(ModelSpecErrorsTest, EachRequiredFieldIsNamedWhenMissing) {
  for (const char *field : {"vocab_size", "hidden_size", "num_hidden_layers",
                            "num_attention_heads", "intermediate_size"}) {
    Json config = baseSpec();
    config.erase(field);
    EXPECT_TRUE(hasError(rejected(config),
                         {std::string(field) + ": required field missing"}))
        << field;
  }
}

TEST(ModelSpecErrorsTest, RequiredFieldMayNotBeNull) {
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "hidden_size", nullptr)),
                       {"hidden_size: required field missing"}));
}

TEST(ModelSpecErrorsTest, WrongTypesNameTheFieldAndTheValue) {
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "hidden_size", 64.0)),
                       {"hidden_size: expected a positive integer, got 64.0"}));
  EXPECT_TRUE(
      hasError(rejected(with(baseSpec(), "vocab_size", "256")),
               {"vocab_size: expected a positive integer, got \"256\""}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "num_hidden_layers", true)),
                       {"num_hidden_layers: expected a positive integer"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "intermediate_size", "big")),
                       {"intermediate_size: expected a positive integer or a "
                        "per-layer list"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "rms_norm_eps", "1e-5")),
                       {"rms_norm_eps: expected a number"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "tie_word_embeddings", 1)),
                       {"tie_word_embeddings: expected true or false"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "hidden_act", 3)),
                       {"hidden_act: expected a string"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "matformer", "S")),
                       {"matformer: expected an object"}));
}

TEST(ModelSpecErrorsTest, DimensionsMustBePositiveAndBounded) {
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "hidden_size", 0)),
                       {"hidden_size: expected a positive integer, got 0"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "num_attention_heads", -4)),
                       {"num_attention_heads", "got -4"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "vocab_size", 1ull << 40)),
                       {"vocab_size: must be at most 2147483647"}));
  EXPECT_TRUE(hasError(
      rejectedText(R"({"vocab_size": 99999999999999999999, "hidden_size":
                 64, "num_hidden_layers": 4, "num_attention_heads": 4,
                 "intermediate_size": 256})"),
      {"vocab_size"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "max_position_embeddings", 0)),
                       {"max_position_embeddings"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "rms_norm_eps", 0)),
                       {"rms_norm_eps: must be positive"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "rope_theta", -1.0)),
                       {"rope_theta: must be positive"}));
}

TEST(ModelSpecErrorsTest, HeadsMustDivideHiddenWithoutHeadDim) {
  Diagnostics diags = rejected(with(baseSpec(), "num_attention_heads", 5));
  EXPECT_TRUE(hasError(diags, {"num_attention_heads: must divide hidden_size "
                               "64 when head_dim is not given, got 5"}));
}

TEST(ModelSpecErrorsTest, KvHeadsMustDivideHeads) {
  Diagnostics diags = rejected(with(baseSpec(), "num_key_value_heads", 3));
  EXPECT_TRUE(hasError(
      diags,
      {"num_key_value_heads: must divide num_attention_heads 4, got 3"}));
}

TEST(ModelSpecErrorsTest, HeadDimMustBeEvenForRope) {
  Json config = with(baseSpec(), "head_dim", 15);
  EXPECT_TRUE(hasError(rejected(config), {"head_dim", "must be even"}));
}

TEST(ModelSpecErrorsTest, UnknownActivationAndArchitecture) {
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "hidden_act", "gelu")),
                       {"hidden_act: expected \"silu\" or "
                        "\"gelu_pytorch_tanh\", got \"gelu\""}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "architecture", "encoder")),
                       {"architecture", "not supported yet"}));
  EXPECT_TRUE(hasError(rejected(with(baseSpec(), "architecture", "seq2seq")),
                       {"architecture: expected \"decoder\""}));
}

TEST(ModelSpecErrorsTest, GranularitiesMustStrictlyIncrease) {
  Diagnostics diags =
      rejected(withMatformer("granularities", {32, 96, 96, 256}));
  EXPECT_TRUE(
      hasError(diags, {"matformer.granularities[2]: must be greater than 96"}));
}

TEST(ModelSpecErrorsTest, LastGranularityMustBeDff) {
  Diagnostics diags = rejected(withMatformer("granularities", {32, 64, 128}));
  EXPECT_TRUE(hasError(diags, {"matformer.granularities[2]: the last "
                               "granularity must equal intermediate_size 256, "
                               "got 128"}));
}

TEST(ModelSpecErrorsTest, GranularitiesMustBePositiveIntegers) {
  EXPECT_TRUE(
      hasError(rejected(withMatformer("granularities", {32, 64.5, 128, 256})),
               {"matformer.granularities[1]: expected a positive integer, got "
                "64.5"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("granularities", {0, 256})),
                       {"matformer.granularities[0]"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("granularities", Json::array())),
                       {"matformer.granularities: expected a non-empty list"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("granularities", 256)),
                       {"matformer.granularities: expected a non-empty list"}));
}

TEST(ModelSpecErrorsTest, TinyDffNeedsExplicitGranularities) {
  Json config = with(baseSpec(), "intermediate_size", 6);
  EXPECT_TRUE(hasError(rejected(config),
                       {"matformer.granularities", "intermediate_size 6",
                        "give matformer.granularities explicitly"}));
  config["matformer"]["granularities"] = {3, 6};
  EXPECT_TRUE(accepted(config).all().empty());
}

TEST(ModelSpecErrorsTest, LossWeightsMustMatchGranularities) {
  EXPECT_TRUE(hasError(rejected(withMatformer("loss_weights", {1, 1, 1})),
                       {"matformer.loss_weights: expected 4 weights (one per "
                        "granularity), got 3"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("loss_weights", {1, -1, 1, 1})),
                       {"matformer.loss_weights[1]: must be non-negative"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("loss_weights", {1, "a", 1, 1})),
                       {"matformer.loss_weights[1]: expected a number"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("loss_weights", {0, 0, 0, 0})),
                       {"matformer.loss_weights: at least one weight"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("loss_weights", 1)),
                       {"matformer.loss_weights: expected a list of weights"}));
}

TEST(ModelSpecErrorsTest, SamplingMustBeAllOrAProbabilityPerGranularity) {
  EXPECT_TRUE(
      hasError(rejected(withMatformer("sampling", {0.25, 0.25, 0.25, 0.15})),
               {"matformer.sampling: probabilities must sum to 1"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("sampling", {0.5, 0.5})),
                       {"matformer.sampling: expected 4 probabilities"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("sampling", "some")),
                       {"matformer.sampling: expected \"all\""}));
  EXPECT_TRUE(hasError(rejected(withMatformer("sampling", {1.5, -0.5, 0, 0})),
                       {"matformer.sampling[1]: must be non-negative"}));
  // Rounding in a hand-written list is tolerated.
  accepted(withMatformer("sampling", {0.1, 0.2, 0.3, 0.4000000001}));
}

TEST(ModelSpecErrorsTest, InvalidDefaultMixIsASpecError) {
  EXPECT_TRUE(hasError(rejected(withMatformer("mix", "XXL")),
                       {"matformer.mix: mix token 0 ('XXL'): expected S, M, "
                        "L, XL"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("mix", "S,M")),
                       {"matformer.mix: mix: expected 4 comma-separated "
                        "tokens (one per layer), got 2"}));
  EXPECT_TRUE(hasError(rejected(withMatformer("mix", 3)),
                       {"matformer.mix: expected a string"}));
  Json badObject = Json::parse(R"({"ffn_hidden_dims": [32, 64]})");
  EXPECT_TRUE(
      hasError(rejected(withMatformer("mix", badObject)),
               {"matformer.mix", "ffn_hidden_dims: expected 4 widths"}));
}

TEST(ModelSpecErrorsTest, DefaultMixWarningsBecomeSpecWarnings) {
  Diagnostics diags = accepted(withMatformer("mix", "100"));
  EXPECT_TRUE(
      hasWarning(diags, {"matformer.mix", "not a trained granularity"}));
}

TEST(ModelSpecErrorsTest, NumericsChangingHuggingFaceFieldsAreErrors) {
  struct Case {
    const char *field;
    Json value;
  };
  const Case cases[] = {
      {"rope_scaling", Json::parse(R"({"rope_type": "linear", "factor": 2})")},
      {"attention_bias", true},
      {"mlp_bias", true},
      {"sliding_window", 4096},
      {"use_sliding_window", true},
      {"pretraining_tp", 2},
      {"partial_rotary_factor", 0.5},
      {"rope_type", "yarn"},
      {"qk_norm", true},
      {"final_logit_softcapping", 30.0},
  };
  for (const Case &c : cases) {
    Diagnostics diags = rejected(with(baseSpec(), c.field, c.value));
    EXPECT_TRUE(hasError(diags, {std::string(c.field) + ": set to",
                                 "compute a different model"}))
        << c.field;
  }
}

TEST(ModelSpecErrorsTest, DefaultValuesOfHuggingFaceFieldsAreAccepted) {
  Json config = baseSpec();
  config["rope_scaling"] = nullptr;
  config["attention_bias"] = false;
  config["mlp_bias"] = false;
  config["sliding_window"] = nullptr;
  config["pretraining_tp"] = 1;
  config["partial_rotary_factor"] = 1.0;
  EXPECT_TRUE(accepted(config).all().empty());
  EXPECT_TRUE(accepted(with(baseSpec(), "rope_scaling",
                            Json::parse(R"({"rope_type": "default"})")))
                  .all()
                  .empty());
}

TEST(ModelSpecErrorsTest, DisabledSlidingWindowIsAccepted) {
  Json config = with(baseSpec(), "sliding_window", 4096);
  config["use_sliding_window"] = false;
  EXPECT_TRUE(accepted(config).all().empty());
}

TEST(ModelSpecErrorsTest, RopeParametersMustBePlainRope) {
  Json config = with(baseSpec(), "rope_parameters",
                     Json::parse(R"({"rope_type": "llama3", "factor": 8})"));
  Diagnostics diags = rejected(config);
  EXPECT_TRUE(hasError(diags, {"rope_type"}));
  EXPECT_TRUE(hasError(diags, {"rope_parameters.factor"}));
  config = with(baseSpec(), "rope_parameters",
                Json::parse(R"({"rope_theta": 500000.0})"));
  config["rope_theta"] = 10000.0;
  EXPECT_TRUE(
      hasError(rejected(config), {"rope_parameters.rope_theta: disagrees with "
                                  "rope_theta"}));
}

TEST(ModelSpecErrorsTest, DropoutIsOnlyAWarning) {
  Diagnostics diags = accepted(with(baseSpec(), "attention_dropout", 0.1));
  EXPECT_TRUE(hasWarning(diags, {"attention_dropout", "training-only"}));
  EXPECT_FALSE(diags.hasErrors());
}

TEST(ModelSpecErrorsTest, UnknownFieldsWarn) {
  Diagnostics diags = accepted(with(baseSpec(), "foo", 1));
  EXPECT_TRUE(hasWarning(diags, {"unknown field 'foo' ignored"}));
  diags = accepted(withMatformer("bar", 1));
  EXPECT_TRUE(hasWarning(diags, {"matformer: unknown field 'bar' ignored"}));
}

TEST(ModelSpecErrorsTest, PerLayerListMustHaveOneEntryPerLayer) {
  Diagnostics diags =
      rejected(with(baseSpec(), "intermediate_size", {64, 64, 64}));
  EXPECT_TRUE(hasError(diags, {"intermediate_size: expected 4 entries (one "
                               "per layer, num_hidden_layers), got 3"}));
}

TEST(ModelSpecErrorsTest, PerLayerEntriesMustBeNonNegativeIntegers) {
  Diagnostics diags =
      rejected(with(baseSpec(), "intermediate_size", {64, 64, -1, 8.5}));
  EXPECT_TRUE(hasError(
      diags,
      {"intermediate_size[2]: expected a non-negative integer, got -1"}));
  EXPECT_TRUE(hasError(diags, {"intermediate_size[3]", "got 8.5"}));
}

TEST(ModelSpecErrorsTest, PerLayerGranularitiesMustCoverEveryLayer) {
  Json config = with(baseSpec(), "intermediate_size", {64, 512, 64, 64});
  config["matformer"]["granularities"] = {64, 128, 256};
  EXPECT_TRUE(
      hasError(rejected(config), {"matformer.granularities[2]",
                                  "largest per-layer intermediate_size 512"}));
}

TEST(ModelSpecErrorsTest, PerLayerSpecWithoutGranularitiesHasNoLossWeights) {
  Json config = with(baseSpec(), "intermediate_size", {64, 64, 64, 64});
  config["matformer"]["loss_weights"] = {1, 1};
  EXPECT_TRUE(hasError(rejected(config), {"matformer.loss_weights: needs "
                                          "matformer.granularities"}));
}

TEST(ModelSpecErrorsTest, ReportsEveryProblemAtOnce) {
  Json config = baseSpec();
  config.erase("vocab_size");
  config["num_key_value_heads"] = 3;
  config["matformer"]["sampling"] = "some";
  config["extra"] = true;
  Diagnostics diags = rejected(config);
  EXPECT_TRUE(hasError(diags, {"vocab_size"}));
  EXPECT_TRUE(hasError(diags, {"num_key_value_heads"}));
  EXPECT_TRUE(hasError(diags, {"matformer.sampling"}));
  EXPECT_TRUE(hasWarning(diags, {"unknown field 'extra'"}));
}

// Resource limits (README.md, Hostile inputs): refused while parsing, before
// anything sized by the spec is allocated.
TEST(ModelSpecErrorsTest, LayerCountIsBoundedBeforeAllocating) {
  // Found while writing the fuzz targets (the spec target reports it as
  // out-of-memory; its seed corpus keeps the input): 2^31-1 layers made the
  // parser allocate a 16 GiB per-layer width list before any other check.
  EXPECT_TRUE(hasError(
      rejected(with(baseSpec(), "num_hidden_layers", 2147483647)),
      {"num_hidden_layers: 2147483647 exceeds the limit of 4096 layers"}));
  Json perLayer = with(baseSpec(), "num_hidden_layers", 5000);
  perLayer["intermediate_size"] = Json::array({256});
  EXPECT_TRUE(hasError(rejected(perLayer), {"exceeds the limit of 4096"}));
  accepted(with(baseSpec(), "num_hidden_layers", 4096));
}

TEST(ModelSpecErrorsTest, ModelMemoryIsBounded) {
  // Every dimension within its own bound, but attention scores over 2^31-1
  // positions would need exabytes.
  Diagnostics diags =
      rejected(with(baseSpec(), "max_position_embeddings", 2147483647));
  EXPECT_TRUE(hasError(diags, {"this model needs", "for one full-context run",
                               "more than the limit of 1 TiB"}))
      << diags.str();
  // Weights: embedding and LM head, each 2^31 x 2^20 f32 (8 PiB).
  Json wide = with(baseSpec(), "vocab_size", 2147483647);
  wide["hidden_size"] = 1 << 20;
  wide["num_attention_heads"] = 1 << 10;
  EXPECT_TRUE(hasError(rejected(wide), {"weights 1.645e+04 TiB"}));
  // An ordinary spec is far inside the limit.
  ModelSpec spec = *parseModelSpec(baseSpec().dump(), diags);
  matc::spec::ModelMemory memory = matc::spec::modelMemoryBytes(spec);
  EXPECT_GT(memory.weightBytes, 4.0 * 256 * 64);
  EXPECT_LT(memory.total(), matc::spec::kMaxModelBytes);
}

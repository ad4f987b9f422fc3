#include "matc/spec/ModelSpec.h"

#include "SpecTestSupport.h"
#include "TempDir.h"
#include "matc/spec/FileIO.h"
#include "matc/spec/Mix.h"

#include <gtest/gtest.h>

using matc::spec::Activation;
using matc::spec::Diagnostics;
using matc::spec::loadModelSpec;
using matc::spec::ModelSpec;
using matc::spec::parseModelSpec;
using matc::test::hasError;
using matc::test::TempDir;

namespace {

const char *const minimalSpec = R"({
  "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 4,
  "num_attention_heads": 4, "intermediate_size": 256
})";

ModelSpec parseValid(const std::string &text) {
  Diagnostics diags;
  std::optional<ModelSpec> spec = parseModelSpec(text, diags);
  EXPECT_TRUE(spec.has_value()) << diags.str();
  EXPECT_TRUE(diags.all().empty()) << diags.str();
  return spec.value_or(ModelSpec());
}

void expectSameSpec(const ModelSpec &a, const ModelSpec &b) {
  EXPECT_EQ(a.architecture, b.architecture);
  EXPECT_EQ(a.vocabSize, b.vocabSize);
  EXPECT_EQ(a.hiddenSize, b.hiddenSize);
  EXPECT_EQ(a.numLayers, b.numLayers);
  EXPECT_EQ(a.numHeads, b.numHeads);
  EXPECT_EQ(a.numKvHeads, b.numKvHeads);
  EXPECT_EQ(a.headDim, b.headDim);
  EXPECT_EQ(a.intermediateSize, b.intermediateSize);
  EXPECT_EQ(a.perLayerIntermediate, b.perLayerIntermediate);
  EXPECT_EQ(a.maxPositions, b.maxPositions);
  EXPECT_EQ(a.rmsNormEps, b.rmsNormEps);
  EXPECT_EQ(a.ropeTheta, b.ropeTheta);
  EXPECT_EQ(a.act, b.act);
  EXPECT_EQ(a.tieWordEmbeddings, b.tieWordEmbeddings);
  EXPECT_EQ(a.granularities, b.granularities);
  EXPECT_EQ(a.defaultMix, b.defaultMix);
  EXPECT_EQ(a.lossWeights, b.lossWeights);
  EXPECT_EQ(a.sampling.all, b.sampling.all);
  EXPECT_EQ(a.sampling.probabilities, b.sampling.probabilities);
}

} // namespace

TEST(ModelSpecTest, MinimalSpecTakesTheDocumentedDefaults) {
  ModelSpec spec = parseValid(minimalSpec);
  EXPECT_EQ(spec.architecture, "decoder");
  EXPECT_EQ(spec.vocabSize, 256);
  EXPECT_EQ(spec.hiddenSize, 64);
  EXPECT_EQ(spec.numLayers, 4);
  EXPECT_EQ(spec.numHeads, 4);
  EXPECT_EQ(spec.numKvHeads, 4);
  EXPECT_EQ(spec.headDim, 16);
  EXPECT_EQ(spec.intermediateSize, std::vector<int64_t>(4, 256));
  EXPECT_FALSE(spec.perLayerIntermediate);
  EXPECT_EQ(spec.dFF(), 256);
  EXPECT_EQ(spec.maxPositions, 2048);
  EXPECT_DOUBLE_EQ(spec.rmsNormEps, 1e-5);
  EXPECT_DOUBLE_EQ(spec.ropeTheta, 10000);
  EXPECT_EQ(spec.act, Activation::Silu);
  EXPECT_FALSE(spec.tieWordEmbeddings);
  EXPECT_EQ(spec.granularities, (std::vector<int64_t>{32, 64, 128, 256}));
  EXPECT_EQ(spec.defaultMix, "XL");
  EXPECT_EQ(spec.lossWeights, (std::vector<double>{1, 1, 1, 1}));
  EXPECT_TRUE(spec.sampling.all);
  EXPECT_TRUE(spec.sampling.probabilities.empty());
}

TEST(ModelSpecTest, ReadsEveryField) {
  ModelSpec spec = parseValid(R"({
    "architecture": "decoder", "vocab_size": 1000, "hidden_size": 96,
    "num_hidden_layers": 3, "num_attention_heads": 6,
    "num_key_value_heads": 2, "head_dim": 32, "intermediate_size": 384,
    "max_position_embeddings": 512, "rms_norm_eps": 1e-6,
    "rope_theta": 500000.0, "hidden_act": "gelu_pytorch_tanh",
    "tie_word_embeddings": true,
    "matformer": {
      "granularities": [96, 192, 384], "mix": "S,g1,XL",
      "loss_weights": [0.5, 1, 2], "sampling": [0.25, 0.25, 0.5]
    }
  })");
  EXPECT_EQ(spec.vocabSize, 1000);
  EXPECT_EQ(spec.numKvHeads, 2);
  EXPECT_EQ(spec.headDim, 32);
  EXPECT_EQ(spec.maxPositions, 512);
  EXPECT_DOUBLE_EQ(spec.rmsNormEps, 1e-6);
  EXPECT_DOUBLE_EQ(spec.ropeTheta, 500000);
  EXPECT_EQ(spec.act, Activation::GeluTanh);
  EXPECT_TRUE(spec.tieWordEmbeddings);
  EXPECT_EQ(spec.granularities, (std::vector<int64_t>{96, 192, 384}));
  EXPECT_EQ(spec.defaultMix, "S,g1,XL");
  EXPECT_EQ(spec.lossWeights, (std::vector<double>{0.5, 1, 2}));
  EXPECT_FALSE(spec.sampling.all);
  EXPECT_EQ(spec.sampling.probabilities,
            (std::vector<double>{0.25, 0.25, 0.5}));
}

TEST(ModelSpecTest, LlamaConfigWithMatformerBlockParsesWithoutWarnings) {
  ModelSpec spec = parseValid(R"({
    "_name_or_path": "tiny-llama", "architectures": ["LlamaForCausalLM"],
    "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 1,
    "eos_token_id": 2, "head_dim": 16, "hidden_act": "silu",
    "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 256,
    "max_position_embeddings": 2048, "mlp_bias": false, "model_type": "llama",
    "num_attention_heads": 4, "num_hidden_layers": 2,
    "num_key_value_heads": 2, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
    "rope_scaling": null, "rope_theta": 10000.0, "tie_word_embeddings": false,
    "torch_dtype": "float32", "transformers_version": "4.46.0",
    "use_cache": true, "vocab_size": 256,
    "matformer": {"granularities": [32, 64, 128, 256]}
  })");
  EXPECT_EQ(spec.numKvHeads, 2);
  EXPECT_EQ(spec.granularities.size(), 4u);
}

TEST(ModelSpecTest, NullMeansDefaultForOptionalFields) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 4,
    "num_attention_heads": 4, "intermediate_size": 256,
    "num_key_value_heads": null, "head_dim": null, "rope_theta": null,
    "matformer": null
  })");
  EXPECT_EQ(spec.numKvHeads, 4);
  EXPECT_EQ(spec.headDim, 16);
  EXPECT_EQ(spec.granularities.size(), 4u);
}

TEST(ModelSpecTest, HeadDimMayDifferFromHiddenOverHeads) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 60, "num_hidden_layers": 1,
    "num_attention_heads": 8, "head_dim": 32, "intermediate_size": 64
  })");
  EXPECT_EQ(spec.headDim, 32);
}

TEST(ModelSpecTest, DefaultGranularitiesUseIntegerDivision) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": 100
  })");
  EXPECT_EQ(spec.granularities, (std::vector<int64_t>{12, 25, 50, 100}));
}

TEST(ModelSpecTest, TransformersFiveRopeParametersGiveRopeTheta) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": 256,
    "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}
  })");
  EXPECT_DOUBLE_EQ(spec.ropeTheta, 500000);
}

TEST(ModelSpecTest, PerLayerListIsASlicedSubmodel) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 4,
    "num_attention_heads": 4, "intermediate_size": [32, 64, 0, 256]
  })");
  EXPECT_TRUE(spec.perLayerIntermediate);
  EXPECT_EQ(spec.intermediateSize, (std::vector<int64_t>{32, 64, 0, 256}));
  EXPECT_EQ(spec.dFF(), 256);
  EXPECT_TRUE(spec.granularities.empty());
  EXPECT_TRUE(spec.lossWeights.empty());
  // Each layer runs at its own width by default.
  Diagnostics diags;
  std::optional<matc::spec::Mix> mix = parseMix("", spec, diags);
  ASSERT_TRUE(mix) << diags.str();
  EXPECT_EQ(matc::spec::formatMix(*mix), "32,64,0,256");
}

TEST(ModelSpecTest, PerLayerListMayDeclareTheUniversalGranularities) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": [64, 128],
    "matformer": {"granularities": [32, 64, 128, 256]}
  })");
  EXPECT_EQ(spec.granularities, (std::vector<int64_t>{32, 64, 128, 256}));
  EXPECT_EQ(spec.lossWeights.size(), 4u);
}

TEST(ModelSpecTest, ObjectMixIsKeptAsJsonText) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 3,
    "num_attention_heads": 4, "intermediate_size": 256,
    "matformer": {"mix": {"ffn_hidden_dims": [32, 256], "layers_to_skip": [1]}}
  })");
  EXPECT_EQ(spec.defaultMix,
            R"({"ffn_hidden_dims":[32,256],"layers_to_skip":[1]})");
}

TEST(ModelSpecTest, ToJsonRoundTripsAUniversalSpec) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 1000, "hidden_size": 96, "num_hidden_layers": 3,
    "num_attention_heads": 6, "num_key_value_heads": 2,
    "intermediate_size": 384, "rms_norm_eps": 1e-6, "rope_theta": 123.25,
    "hidden_act": "gelu_pytorch_tanh", "tie_word_embeddings": true,
    "max_position_embeddings": 300,
    "matformer": {"granularities": [96, 192, 384], "mix": "S,g1,XL",
                  "loss_weights": [0.1, 0.3, 0.6], "sampling": [0.2, 0.3, 0.5]}
  })");
  expectSameSpec(parseValid(spec.toJson()), spec);
}

TEST(ModelSpecTest, ToJsonRoundTripsAPerLayerSpec) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 3,
    "num_attention_heads": 4, "intermediate_size": [32, 0, 64]
  })");
  std::string text = spec.toJson();
  EXPECT_NE(text.find("\"intermediate_size\": [\n"), std::string::npos) << text;
  expectSameSpec(parseValid(text), spec);
}

TEST(ModelSpecTest, ToJsonRoundTripsAnObjectMix) {
  ModelSpec spec = parseValid(R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 3,
    "num_attention_heads": 4, "intermediate_size": 256,
    "matformer": {"mix": {"ffn_hidden_dims": [32, 256], "layers_to_skip": [1]}}
  })");
  expectSameSpec(parseValid(spec.toJson()), spec);
}

TEST(ModelSpecTest, ToJsonOfAnExtractedSubmodelParses) {
  // What `matc extract` builds: a per-layer spec from a universal one.
  ModelSpec spec = parseValid(minimalSpec);
  spec.intermediateSize = {32, 64, 128};
  spec.numLayers = 3;
  spec.perLayerIntermediate = true;
  spec.defaultMix = "32,64,128";
  ModelSpec extracted = parseValid(spec.toJson());
  EXPECT_EQ(extracted.intermediateSize, spec.intermediateSize);
  EXPECT_EQ(extracted.granularities, spec.granularities);
}

TEST(ModelSpecTest, LoadsAFileAndResolvesMixFilesBesideIt) {
  TempDir tmp;
  Diagnostics diags;
  ASSERT_TRUE(matc::spec::writeFileAtomically(
      tmp.path("mix.json"), R"({"ffn_hidden_dims": [32, 64, 128, 256]})",
      diags));
  ASSERT_TRUE(matc::spec::writeFileAtomically(tmp.path("spec.json"), R"({
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 4,
    "num_attention_heads": 4, "intermediate_size": 256,
    "matformer": {"mix": "@mix.json"}
  })",
                                              diags));
  std::optional<ModelSpec> spec = loadModelSpec(tmp.path("spec.json"), diags);
  ASSERT_TRUE(spec) << diags.str();
  EXPECT_EQ(spec->defaultMix, "@" + tmp.path("mix.json"));
  std::optional<matc::spec::Mix> mix = parseMix("", *spec, diags);
  ASSERT_TRUE(mix) << diags.str();
  EXPECT_EQ(matc::spec::formatMix(*mix), "32,64,128,256");
}

TEST(ModelSpecTest, UnreadableSpecFileIsAnErrorNamingThePath) {
  TempDir tmp;
  Diagnostics diags;
  EXPECT_FALSE(loadModelSpec(tmp.path("missing.json"), diags));
  EXPECT_TRUE(hasError(diags, {tmp.path("missing.json")}));
}

TEST(ModelSpecTest, LoadedSpecErrorsCarryTheFileName) {
  TempDir tmp;
  std::string path = tmp.path("bad.json");
  Diagnostics diags(path);
  ASSERT_TRUE(
      matc::spec::writeFileAtomically(path, R"({"vocab_size": 0})", diags));
  EXPECT_FALSE(loadModelSpec(path, diags));
  EXPECT_TRUE(hasError(diags, {path + ": vocab_size: expected a positive"}));
}

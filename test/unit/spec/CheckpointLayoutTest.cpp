#include "matc/spec/Safetensors.h"

#include "SpecTestSupport.h"
#include "TempDir.h"

#include <gtest/gtest.h>

using namespace matc::spec;
using matc::test::hasError;
using matc::test::hasWarning;
using matc::test::TempDir;

namespace {

ModelSpec specFrom(const std::string &text) {
  Diagnostics diags;
  std::optional<ModelSpec> spec = parseModelSpec(text, diags);
  EXPECT_TRUE(spec) << diags.str();
  return spec.value_or(ModelSpec());
}

// GQA (4 query heads, 2 KV heads, head_dim 8), hidden 32, d_ff 128.
ModelSpec gqaSpec(bool tied) {
  return specFrom(std::string(R"({
    "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
    "intermediate_size": 128, "tie_word_embeddings": )") +
                  (tied ? "true" : "false") + "}");
}

// A header with exactly the tensors expected for `spec`, as F32.
SafetensorsHeader headerFor(const ModelSpec &spec) {
  SafetensorsHeader header;
  uint64_t offset = 0;
  for (const ExpectedTensor &tensor : expectedTensors(spec)) {
    TensorInfo info{tensor.name, DType::F32, tensor.shape, offset, 0};
    info.end = offset + info.numElements() * 4;
    offset = info.end;
    header.tensors.push_back(info);
  }
  return header;
}

std::vector<int64_t> shapeOf(const std::vector<ExpectedTensor> &tensors,
                             const std::string &name) {
  for (const ExpectedTensor &tensor : tensors)
    if (tensor.name == name)
      return tensor.shape;
  ADD_FAILURE() << name << " not expected";
  return {};
}

using Shape = std::vector<int64_t>;

} // namespace

TEST(CheckpointLayoutTest, LlamaNamesAndShapes) {
  std::vector<ExpectedTensor> tensors = expectedTensors(gqaSpec(false));
  ASSERT_EQ(tensors.size(), 1u + 2 * 9 + 2);
  EXPECT_EQ(tensors.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(tensors.back().name, "lm_head.weight");
  EXPECT_EQ(shapeOf(tensors, "model.embed_tokens.weight"), (Shape{256, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.1.input_layernorm.weight"),
            (Shape{32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.self_attn.q_proj.weight"),
            (Shape{32, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.self_attn.k_proj.weight"),
            (Shape{16, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.self_attn.v_proj.weight"),
            (Shape{16, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.self_attn.o_proj.weight"),
            (Shape{32, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.1.post_attention_layernorm.weight"),
            (Shape{32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.1.mlp.gate_proj.weight"),
            (Shape{128, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.1.mlp.up_proj.weight"),
            (Shape{128, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.1.mlp.down_proj.weight"),
            (Shape{32, 128}));
  EXPECT_EQ(shapeOf(tensors, "model.norm.weight"), (Shape{32}));
  EXPECT_EQ(shapeOf(tensors, "lm_head.weight"), (Shape{256, 32}));
}

TEST(CheckpointLayoutTest, HeadDimSetsAttentionWidths) {
  ModelSpec spec = specFrom(R"({
    "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 1,
    "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
    "intermediate_size": 64})");
  std::vector<ExpectedTensor> tensors = expectedTensors(spec);
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.self_attn.q_proj.weight"),
            (Shape{64, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.self_attn.k_proj.weight"),
            (Shape{16, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.self_attn.o_proj.weight"),
            (Shape{32, 64}));
}

TEST(CheckpointLayoutTest, TiedEmbeddingsHaveNoLmHead) {
  std::vector<ExpectedTensor> tensors = expectedTensors(gqaSpec(true));
  EXPECT_EQ(tensors.size(), 1u + 2 * 9 + 1);
  for (const ExpectedTensor &tensor : tensors)
    EXPECT_NE(tensor.name, "lm_head.weight");
}

TEST(CheckpointLayoutTest, PerLayerWidthsShapeEachMlp) {
  ModelSpec spec = specFrom(R"({
    "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 3,
    "num_attention_heads": 4, "intermediate_size": [16, 0, 64]})");
  std::vector<ExpectedTensor> tensors = expectedTensors(spec);
  EXPECT_EQ(tensors.size(), 1u + 9 + 6 + 9 + 2);
  EXPECT_EQ(shapeOf(tensors, "model.layers.0.mlp.up_proj.weight"),
            (Shape{16, 32}));
  EXPECT_EQ(shapeOf(tensors, "model.layers.2.mlp.down_proj.weight"),
            (Shape{32, 64}));
  for (const ExpectedTensor &tensor : tensors)
    EXPECT_EQ(tensor.name.find("model.layers.1.mlp"), std::string::npos);
}

TEST(CheckpointLayoutTest, MatchingCheckpointPasses) {
  ModelSpec spec = gqaSpec(false);
  Diagnostics diags;
  EXPECT_TRUE(checkCheckpoint(headerFor(spec), spec, diags));
  EXPECT_TRUE(diags.all().empty()) << diags.str();
}

TEST(CheckpointLayoutTest, WrittenCheckpointPasses) {
  ModelSpec spec = gqaSpec(true);
  std::vector<ExpectedTensor> expected = expectedTensors(spec);
  std::vector<std::vector<uint16_t>> storage;
  std::vector<TensorData> tensors;
  for (const ExpectedTensor &tensor : expected) {
    int64_t count = 1;
    for (int64_t dim : tensor.shape)
      count *= dim;
    storage.emplace_back(count, floatToBf16(0.02f));
    tensors.push_back({tensor.name, DType::BF16, tensor.shape,
                       storage.back().data(), uint64_t(count) * 2});
  }
  TempDir tmp;
  Diagnostics diags;
  ASSERT_TRUE(writeSafetensors(tmp.path("w.safetensors"), tensors, {}, diags))
      << diags.str();
  std::optional<SafetensorsHeader> header =
      loadSafetensorsHeader(tmp.path("w.safetensors"), diags);
  ASSERT_TRUE(header) << diags.str();
  EXPECT_TRUE(checkCheckpoint(*header, spec, diags)) << diags.str();
}

TEST(CheckpointLayoutTest, MissingTensorIsAnErrorNamingIt) {
  ModelSpec spec = gqaSpec(false);
  SafetensorsHeader header = headerFor(spec);
  header.tensors.erase(header.tensors.begin() + 3);
  std::string removed = expectedTensors(spec)[3].name;
  Diagnostics diags;
  EXPECT_FALSE(checkCheckpoint(header, spec, diags));
  EXPECT_TRUE(hasError(diags, {removed + ": missing from the checkpoint "
                                         "(expected shape [16, 32])"}));
}

TEST(CheckpointLayoutTest, UntiedSpecNeedsLmHead) {
  ModelSpec untied = gqaSpec(false);
  Diagnostics diags;
  EXPECT_FALSE(checkCheckpoint(headerFor(gqaSpec(true)), untied, diags));
  EXPECT_TRUE(hasError(diags, {"lm_head.weight: missing"}));
}

TEST(CheckpointLayoutTest, WrongShapeNamesBothShapes) {
  ModelSpec spec = gqaSpec(false);
  SafetensorsHeader header = headerFor(spec);
  for (TensorInfo &tensor : header.tensors)
    if (tensor.name == "model.layers.1.mlp.down_proj.weight")
      tensor.shape = {128, 32}; // stored transposed
  Diagnostics diags;
  EXPECT_FALSE(checkCheckpoint(header, spec, diags));
  EXPECT_TRUE(hasError(diags, {"model.layers.1.mlp.down_proj.weight: shape "
                               "[128, 32] does not match the spec: expected "
                               "[32, 128]"}));
}

TEST(CheckpointLayoutTest, ExtraTensorsOnlyWarn) {
  ModelSpec tied = gqaSpec(true);
  // Some exporters keep lm_head.weight even when it is tied.
  SafetensorsHeader header = headerFor(gqaSpec(false));
  Diagnostics diags;
  EXPECT_TRUE(checkCheckpoint(header, tied, diags));
  EXPECT_TRUE(hasWarning(diags, {"lm_head.weight: not used by the spec"}));
  EXPECT_FALSE(diags.hasErrors());
}

TEST(CheckpointLayoutTest, UniversalCheckpointDoesNotFitASlicedSpec) {
  ModelSpec universal = gqaSpec(false);
  ModelSpec sliced = specFrom(R"({
    "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
    "intermediate_size": [64, 128]})");
  Diagnostics diags;
  EXPECT_FALSE(checkCheckpoint(headerFor(universal), sliced, diags));
  EXPECT_TRUE(hasError(diags, {"model.layers.0.mlp.gate_proj.weight: shape "
                               "[128, 32] does not match the spec: expected "
                               "[64, 32]"}));
}

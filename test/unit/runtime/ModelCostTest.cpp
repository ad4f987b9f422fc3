#include "matrt/ModelCost.h"

#include <gtest/gtest.h>

using namespace matrt;
using matc::spec::Diagnostics;
using matc::spec::DType;
using matc::spec::Mix;
using matc::spec::ModelSpec;

namespace {

ModelSpec spec(bool tied) {
  Diagnostics diags;
  std::string text = R"({"vocab_size": 100, "hidden_size": 16,
      "num_hidden_layers": 3, "num_attention_heads": 4,
      "num_key_value_heads": 2, "intermediate_size": 64,
      "tie_word_embeddings": )" +
                     std::string(tied ? "true" : "false") + "}";
  std::optional<ModelSpec> parsed = matc::spec::parseModelSpec(text, diags);
  EXPECT_TRUE(parsed) << diags.str();
  return *parsed;
}

} // namespace

TEST(ModelCostTest, CountsEveryMatmulOfTheMix) {
  // hidden 16, 4 heads of 4 (q width 16), 2 KV heads (k/v width 8).
  ModelSpec model = spec(false);
  Mix mix = {{false, 64}, {false, 8}, {true, 0}};
  ModelCost cost = computeModelCost(model, mix, DType::F32);
  int64_t attention = 16 * 16 + 2 * 16 * 8 + 16 * 16; // q, k+v, o = 768
  int64_t ffn = 3 * 16 * 64 + 3 * 16 * 8;             // two kept layers
  int64_t lmHead = 100 * 16;
  EXPECT_EQ(cost.flopsPerToken, 2 * (2 * attention + ffn + lmHead));
  int64_t norms = 2 * (2 * 16) + 16; // two per kept layer, final
  EXPECT_EQ(cost.weightBytesPerToken,
            4 * (2 * attention + ffn + lmHead + norms));
  // BF16 halves the bytes, not the FLOPs.
  ModelCost half = computeModelCost(model, mix, DType::BF16);
  EXPECT_EQ(half.flopsPerToken, cost.flopsPerToken);
  EXPECT_EQ(half.weightBytesPerToken * 2, cost.weightBytesPerToken);
}

TEST(ModelCostTest, FfnWidthZeroKeepsAttention) {
  ModelSpec model = spec(true);
  Mix noFfn = {{false, 0}, {false, 0}, {false, 0}};
  Mix allSkipped = {{true, 0}, {true, 0}, {true, 0}};
  int64_t lmHead = 100 * 16;
  EXPECT_EQ(computeModelCost(model, noFfn, DType::F32).flopsPerToken,
            2 * (3 * 768 + lmHead));
  // Tied: the LM head reads the embedding matrix, counted once.
  EXPECT_EQ(computeModelCost(model, allSkipped, DType::F32).flopsPerToken,
            2 * lmHead);
  EXPECT_EQ(computeModelCost(model, allSkipped, DType::F32).weightBytesPerToken,
            4 * (lmHead + 16));
}

TEST(ModelCostTest, AttentionFlopsGrowWithContext) {
  ModelSpec model = spec(false);
  Mix mix = {{false, 64}, {true, 0}, {false, 64}};
  // Two kept layers; QK^T and AV each heads * head_dim * context.
  EXPECT_EQ(attentionFlopsPerToken(model, mix, 10), 2 * 2 * (2 * 16 * 10));
  EXPECT_EQ(attentionFlopsPerToken(model, mix, 0), 0);
}

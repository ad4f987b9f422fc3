#include "matc/spec/ModelSpec.h"

#include "JsonSupport.h"

#include <algorithm>

namespace matc::spec {

using json_support::Json;

const char *activationName(Activation act) {
  switch (act) {
  case Activation::Silu:
    return "silu";
  case Activation::GeluTanh:
    return "gelu_pytorch_tanh";
  }
  return "silu";
}

int64_t ModelSpec::dFF() const {
  if (intermediateSize.empty())
    return 0;
  return *std::max_element(intermediateSize.begin(), intermediateSize.end());
}

std::string ModelSpec::toJson() const {
  Json config = Json::object();
  // Lets Hugging Face tooling recognize the file; matc ignores both keys.
  config["architectures"] = Json::array({"LlamaForCausalLM"});
  config["model_type"] = "llama";
  config["architecture"] = architecture;
  config["vocab_size"] = vocabSize;
  config["hidden_size"] = hiddenSize;
  config["num_hidden_layers"] = numLayers;
  config["num_attention_heads"] = numHeads;
  config["num_key_value_heads"] = numKvHeads;
  config["head_dim"] = headDim;
  if (perLayerIntermediate)
    config["intermediate_size"] = intermediateSize;
  else
    config["intermediate_size"] = dFF();
  config["max_position_embeddings"] = maxPositions;
  config["rms_norm_eps"] = rmsNormEps;
  config["rope_theta"] = ropeTheta;
  config["hidden_act"] = activationName(act);
  config["tie_word_embeddings"] = tieWordEmbeddings;

  Json matformer = Json::object();
  if (!granularities.empty()) {
    matformer["granularities"] = granularities;
    matformer["loss_weights"] = lossWeights;
  }
  matformer["mix"] = defaultMix;
  // The object form was stored as JSON text; write it back as an object.
  if (!defaultMix.empty() && defaultMix[0] == '{') {
    Json mixObject =
        Json::parse(defaultMix, nullptr, /*allow_exceptions=*/false);
    if (mixObject.is_object())
      matformer["mix"] = mixObject;
  }
  if (sampling.all || granularities.empty())
    matformer["sampling"] = "all";
  else
    matformer["sampling"] = sampling.probabilities;
  config["matformer"] = matformer;
  return json_support::dump(config, 2) + "\n";
}

} // namespace matc::spec

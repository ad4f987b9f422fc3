#include "HuggingFaceFields.h"

namespace matc::spec {

using json_support::describe;
using json_support::Json;

namespace {

const char *const harmlessFields[] = {
    "_name_or_path",
    "architectures",
    "auto_map",
    "bos_token_id",
    "dtype",
    "eos_token_id",
    "initializer_range",
    "is_decoder",
    "model_type",
    "output_attentions",
    "output_hidden_states",
    "pad_token_id",
    "return_dict",
    "tokenizer_class",
    "torch_dtype",
    "torchscript",
    "transformers_version",
    "use_cache",
};

// Dropout only exists in training, and matc trains without it.
const char *const dropoutFields[] = {
    "attention_dropout", "attn_pdrop",  "embd_pdrop",
    "hidden_dropout",    "resid_pdrop",
};

// Fields whose only value matc implements is null (absent).
const char *const mustBeNullFields[] = {
    "attn_logit_softcapping",
    "final_logit_softcapping",
    "quantization_config",
    "query_pre_attn_scalar",
};

// Fields whose only value matc implements is false.
const char *const mustBeFalseFields[] = {
    "attention_bias", "mlp_bias",           "qk_norm",
    "use_qk_norm",    "use_sliding_window",
};

// Fields whose only value matc implements is 1.
const char *const mustBeOneFields[] = {
    "embedding_multiplier", "logits_scaling",      "partial_rotary_factor",
    "pretraining_tp",       "residual_multiplier",
};

void unsupported(const std::string &key, const Json &value,
                 const std::string &implemented, Diagnostics &diags) {
  diags.error(key, "set to " + describe(value) + ", but matc implements only " +
                       implemented +
                       "; ignoring it would compute a different model");
}

// HF writes {"rope_type": "default"} for plain RoPE; anything else scales it.
bool isPlainRope(const Json &value) {
  if (value.is_null())
    return true;
  if (!value.is_object())
    return false;
  for (const auto &member : value.items()) {
    bool namesType = member.key() == "rope_type" || member.key() == "type";
    if (!namesType || member.value() != "default")
      return false;
  }
  return true;
}

} // namespace

bool checkHuggingFaceField(const std::string &key, const Json &value,
                           const Json &config, Diagnostics &diags) {
  if (json_support::isOneOf(harmlessFields, key))
    return true;
  // Null is how Hugging Face writes "unset", i.e. the default.
  bool numericsField = json_support::isOneOf(dropoutFields, key) ||
                       json_support::isOneOf(mustBeNullFields, key) ||
                       json_support::isOneOf(mustBeFalseFields, key) ||
                       json_support::isOneOf(mustBeOneFields, key) ||
                       key == "rope_scaling" || key == "rope_type" ||
                       key == "sliding_window";
  if (numericsField && value.is_null())
    return true;
  if (json_support::isOneOf(dropoutFields, key)) {
    std::optional<double> rate = json_support::readNumber(value, key, diags);
    if (rate && *rate != 0)
      diags.warning(key, "dropout is training-only and matc trains without "
                         "it; ignored");
    return true;
  }
  if (json_support::isOneOf(mustBeNullFields, key)) {
    if (!value.is_null())
      unsupported(key, value, "null", diags);
    return true;
  }
  if (json_support::isOneOf(mustBeFalseFields, key)) {
    std::optional<bool> flag = json_support::readBool(value, key, diags);
    if (flag && *flag)
      unsupported(key, value, "false", diags);
    return true;
  }
  if (json_support::isOneOf(mustBeOneFields, key)) {
    std::optional<double> number = json_support::readNumber(value, key, diags);
    if (number && *number != 1)
      unsupported(key, value, "1", diags);
    return true;
  }
  if (key == "rope_scaling") {
    if (!isPlainRope(value))
      unsupported(key, value, "null (plain RoPE)", diags);
    return true;
  }
  if (key == "rope_type") {
    if (value != "default")
      unsupported(key, value, "\"default\"", diags);
    return true;
  }
  if (key == "sliding_window") {
    // Qwen-style configs carry a window size that use_sliding_window=false
    // turns off.
    auto switchedOff = config.find("use_sliding_window");
    bool disabled = switchedOff != config.end() && *switchedOff == false;
    if (!value.is_null() && !disabled)
      unsupported(key, value, "null (full causal attention)", diags);
    return true;
  }
  return false;
}

} // namespace matc::spec

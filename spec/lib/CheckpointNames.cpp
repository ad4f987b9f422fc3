#include "matc/spec/CheckpointNames.h"

#include <cassert>

namespace matc::spec {

bool isLayerTensor(Tensor tensor) {
  return tensor != Tensor::Embedding && tensor != Tensor::FinalNorm &&
         tensor != Tensor::LmHead;
}

std::string layerPrefix(int64_t layer) {
  return "model.layers." + std::to_string(layer);
}

static const char *layerSuffix(Tensor tensor) {
  switch (tensor) {
  case Tensor::InputNorm:
    return "input_layernorm.weight";
  case Tensor::QProj:
    return "self_attn.q_proj.weight";
  case Tensor::KProj:
    return "self_attn.k_proj.weight";
  case Tensor::VProj:
    return "self_attn.v_proj.weight";
  case Tensor::OProj:
    return "self_attn.o_proj.weight";
  case Tensor::PostAttentionNorm:
    return "post_attention_layernorm.weight";
  case Tensor::GateProj:
    return "mlp.gate_proj.weight";
  case Tensor::UpProj:
    return "mlp.up_proj.weight";
  case Tensor::DownProj:
    return "mlp.down_proj.weight";
  default:
    return "";
  }
}

std::string tensorName(Tensor tensor, int64_t layer) {
  switch (tensor) {
  case Tensor::Embedding:
    return "model.embed_tokens.weight";
  case Tensor::FinalNorm:
    return "model.norm.weight";
  case Tensor::LmHead:
    return "lm_head.weight";
  default:
    assert(layer >= 0 && "a per-layer tensor needs its layer");
    return layerPrefix(layer) + "." + layerSuffix(tensor);
  }
}

} // namespace matc::spec

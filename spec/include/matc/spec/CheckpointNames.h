#ifndef MATC_SPEC_CHECKPOINTNAMES_H
#define MATC_SPEC_CHECKPOINTNAMES_H

// The one place that spells checkpoint tensor names (Hugging Face Llama's,
// docs/REFERENCE.md, Checkpoints). The importer, the nesting verifier,
// checkpoint validation and `matc extract` all ask here.

#include <cstdint>
#include <string>

namespace matc::spec {

enum class Tensor {
  // Model-wide.
  Embedding,  // model.embed_tokens.weight       [vocab, hidden]
  FinalNorm,  // model.norm.weight               [hidden]
  LmHead,     // lm_head.weight                  [vocab, hidden]
  // Per layer: model.layers.{i}.<...>.
  InputNorm,  // input_layernorm.weight          [hidden]
  QProj,      // self_attn.q_proj.weight         [heads*head_dim, hidden]
  KProj,      // self_attn.k_proj.weight         [kv_heads*head_dim, hidden]
  VProj,      // self_attn.v_proj.weight         [kv_heads*head_dim, hidden]
  OProj,      // self_attn.o_proj.weight         [hidden, heads*head_dim]
  PostAttentionNorm, // post_attention_layernorm.weight [hidden]
  GateProj,   // mlp.gate_proj.weight            [d_ff, hidden]
  UpProj,     // mlp.up_proj.weight              [d_ff, hidden]
  DownProj,   // mlp.down_proj.weight            [hidden, d_ff]
};

// True for the tensors that belong to one decoder layer.
bool isLayerTensor(Tensor tensor);

// The checkpoint name of `tensor`; `layer` is used (and required) only for
// per-layer tensors.
std::string tensorName(Tensor tensor, int64_t layer = -1);

// "model.layers.{layer}", the prefix (without the dot) of a layer's tensors
// and the name of the layer in diagnostics and IR locations.
std::string layerPrefix(int64_t layer);

} // namespace matc::spec

#endif // MATC_SPEC_CHECKPOINTNAMES_H

"""Writes one submodel of a matc checkpoint as an f32 GGUF for llama.cpp, with
the `gguf` package (no conversion script).

- q and k rows are permuted from the rotate-half RoPE layout (matc, Hugging
  Face) to llama.cpp's interleaved pairs, as llama.cpp's convert_hf_to_gguf
  does;
- the vocabulary is tokenizer model `none` with vocab_size dummy tokens:
  llama.cpp is fed token ids;
- a tied head writes no `output.weight` (llama.cpp then reuses the
  embedding);
- a mix whose kept layers all have the same FFN width > 0 is architecture
  `llama`; any other is `deci` (the same math with real per-layer widths;
  llama.cpp's `llama` builds every layer at layer 0's width). Skipped layers
  are left out. In `deci` a width of 0 also drops the layer's attention, so a
  kept layer without an FFN gets a zero FFN of width 1 (adds exactly 0).
"""
import numpy as np

import model as mm


def permute_rope(w, heads):
    """[heads * head_dim, in] rows: (first half, second half) of each head
    -> interleaved pairs."""
    out, cols = w.shape
    return (w.reshape(heads, 2, out // heads // 2, cols).swapaxes(1, 2).reshape(out, cols))


def write_gguf(spec: mm.Spec, weights: dict, widths: list, path: str, context: int):
    import gguf
    if spec.hidden_act != "silu":
        raise ValueError(f"llama.cpp's llama/deci architectures use SiLU; "
                         f"hidden_act is {spec.hidden_act}")
    kept = [i for i, w in enumerate(widths) if w is not None]
    kept_widths = [widths[i] for i in kept]
    uniform = len(set(kept_widths)) == 1 and kept_widths[0] > 0
    arch = "llama" if uniform else "deci"
    writer = gguf.GGUFWriter(path, arch)
    writer.add_context_length(context)
    writer.add_embedding_length(spec.hidden_size)
    writer.add_block_count(len(kept))
    ffn_lengths = [max(w, 1) for w in kept_widths]
    writer.add_feed_forward_length(ffn_lengths[0] if uniform else ffn_lengths)
    if uniform:
        writer.add_head_count(spec.num_heads)
        writer.add_head_count_kv(spec.num_kv_heads)
    else:
        writer.add_head_count([spec.num_heads] * len(kept))
        writer.add_head_count_kv([spec.num_kv_heads] * len(kept))
    writer.add_key_length(spec.head_dim)
    writer.add_value_length(spec.head_dim)
    writer.add_rope_dimension_count(spec.head_dim)
    writer.add_rope_freq_base(spec.rope_theta)
    writer.add_layer_norm_rms_eps(spec.rms_norm_eps)
    writer.add_vocab_size(spec.vocab_size)
    writer.add_tokenizer_model("none")
    writer.add_file_type(0)  # all F32

    def add(name, t):
        writer.add_tensor(name, np.ascontiguousarray(t.numpy(), dtype=np.float32))

    add("token_embd.weight", weights["model.embed_tokens.weight"])
    for n, i in enumerate(kept):
        p = mm.layer_prefix(i)
        b = f"blk.{n}."
        add(b + "attn_norm.weight", weights[p + "input_layernorm.weight"])
        add(b + "attn_q.weight", permute_rope(weights[p + "self_attn.q_proj.weight"], spec.num_heads))
        add(b + "attn_k.weight", permute_rope(weights[p + "self_attn.k_proj.weight"], spec.num_kv_heads))
        add(b + "attn_v.weight", weights[p + "self_attn.v_proj.weight"])
        add(b + "attn_output.weight", weights[p + "self_attn.o_proj.weight"])
        w = widths[i]
        if w > 0:
            add(b + "ffn_norm.weight", weights[p + "post_attention_layernorm.weight"])
            add(b + "ffn_gate.weight", weights[p + "mlp.gate_proj.weight"][:w])
            add(b + "ffn_up.weight", weights[p + "mlp.up_proj.weight"][:w])
            add(b + "ffn_down.weight", weights[p + "mlp.down_proj.weight"][:, :w])
        else:
            import torch
            h = spec.hidden_size
            add(b + "ffn_norm.weight", torch.ones(h))
            add(b + "ffn_gate.weight", torch.zeros(1, h))
            add(b + "ffn_up.weight", torch.zeros(1, h))
            add(b + "ffn_down.weight", torch.zeros(h, 1))
    add("output_norm.weight", weights["model.norm.weight"])
    if not spec.tied:
        add("output.weight", weights["lm_head.weight"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return arch

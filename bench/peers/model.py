"""A PyTorch model built from a matc spec JSON, for benchmarking matc against
peers on the same weights (bench/run-peers.sh, bench/run-training.sh).

The math is docs/REFERENCE.md, Numerics: RMSNorm in f32, rotate-half RoPE
with cos/sin computed in f64 and rounded once to f32, grouped-query causal
attention, a gated FFN (SiLU or tanh-GELU) restricted to the first w neurons
of a layer, the LM head tied to the embedding or not. A Mix'n'Match choice
(docs/REFERENCE.md, Mix'n'Match syntax) sets each layer's FFN width: a width,
0 (no FFN) or None (the layer is skipped).

Two models share that math:
- `Submodel`: one mix, inference only; the FFN weights are sliced once into
  contiguous tensors (what a deployed submodel holds). `prefill` and `decode`
  use a static KV cache, so torch.compile and the ONNX exporter see fixed
  shapes.
- `UniversalModel`: the whole checkpoint as trainable parameters with
  Hugging Face Llama's names; `forward(tokens, width)` runs every layer at
  width min(width, d_ff_i) by slicing the shared weights (for training).
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F


# --------------------------------------------------------------------------
# Spec and MIX
# --------------------------------------------------------------------------

@dataclass
class Spec:
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    d_ff: list  # per layer
    max_positions: int
    rms_norm_eps: float
    rope_theta: float
    hidden_act: str
    tied: bool
    granularities: list = field(default_factory=list)
    mix: object = "XL"
    loss_weights: list = field(default_factory=list)
    path: str = ""


def load_spec(path: str) -> Spec:
    """Reads the fields matc reads (docs/REFERENCE.md, Model spec)."""
    with open(path) as f:
        raw = json.load(f)
    hidden = raw["hidden_size"]
    layers = raw["num_hidden_layers"]
    heads = raw["num_attention_heads"]
    kv_heads = raw.get("num_key_value_heads") or heads
    head_dim = raw.get("head_dim") or hidden // heads
    inter = raw["intermediate_size"]
    d_ff = list(inter) if isinstance(inter, list) else [inter] * layers
    rope_theta = raw.get("rope_theta")
    if rope_theta is None and isinstance(raw.get("rope_parameters"), dict):
        rope_theta = raw["rope_parameters"].get("rope_theta")
    mat = raw.get("matformer") or {}
    biggest = max(d_ff)
    if mat.get("granularities") is not None:
        grans = list(mat["granularities"])
    elif isinstance(inter, list):
        grans = []
    else:
        grans = [biggest // 8, biggest // 4, biggest // 2, biggest]
    default_mix = mat.get("mix")
    if default_mix is None:
        default_mix = "XL"
    loss_weights = mat.get("loss_weights") or [1.0] * len(grans)
    return Spec(
        vocab_size=raw["vocab_size"], hidden_size=hidden, num_layers=layers,
        num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, d_ff=d_ff,
        max_positions=raw.get("max_position_embeddings") or 2048,
        rms_norm_eps=raw.get("rms_norm_eps") or 1e-5,
        rope_theta=rope_theta or 10000.0,
        hidden_act=raw.get("hidden_act") or "silu",
        tied=bool(raw.get("tie_word_embeddings", False)),
        granularities=grans, mix=default_mix, loss_weights=list(loss_weights),
        path=path)


_NAMES = {"S": 0, "M": 1, "L": 2, "XL": 3}


def _token_width(token: str, spec: Spec, layer: int):
    """One MIX token for one layer: a width (0 = no FFN) or None (skip)."""
    token = token.strip()
    g = len(spec.granularities)
    if token == "skip":
        return None
    if token == "XL" and not spec.granularities:
        return spec.d_ff[layer]
    index = None
    if token in ("S", "XL"):
        index = 0 if token == "S" else g - 1
    elif token in ("M", "L"):
        if g != 4:
            raise ValueError(f"mix token '{token}' needs 4 granularities")
        index = _NAMES[token]
    elif re.fullmatch(r"g\d+", token):
        index = int(token[1:])
    if index is not None:
        if not 0 <= index < g:
            raise ValueError(f"mix token '{token}': no granularity {index}")
        width = spec.granularities[index]
    elif re.fullmatch(r"\d+", token):
        width = int(token)
    else:
        raise ValueError(f"mix token '{token}': expected S, M, L, XL, gK, a width, 0 or skip")
    if width > spec.d_ff[layer]:
        raise ValueError(f"mix token '{token}': width {width} above layer {layer}'s "
                         f"intermediate_size {spec.d_ff[layer]}")
    return width


def parse_mix(mix, spec: Spec) -> list:
    """A MIX (string or MatFormer Lab object) as one entry per layer: an FFN
    width (0: no FFN) or None (the layer is skipped)."""
    if mix is None:
        mix = spec.mix
    if isinstance(mix, str) and mix.startswith("@"):
        with open(mix[1:]) as f:
            mix = json.load(f)
    if isinstance(mix, str) and mix.lstrip().startswith("{"):
        mix = json.loads(mix)
    if isinstance(mix, dict):
        skip = set(mix.get("layers_to_skip") or [])
        dims = list(mix["ffn_hidden_dims"])
        kept = [i for i in range(spec.num_layers) if i not in skip]
        if len(dims) != len(kept):
            raise ValueError(f"mix: {len(dims)} ffn_hidden_dims for {len(kept)} kept layers")
        widths = [None] * spec.num_layers
        for i, w in zip(kept, dims):
            widths[i] = _token_width(str(w), spec, i)
        return widths
    tokens = mix.split(",")
    if len(tokens) == 1:
        tokens = tokens * spec.num_layers
    if len(tokens) != spec.num_layers:
        raise ValueError(f"mix: expected {spec.num_layers} comma-separated tokens "
                         f"(one per layer), got {len(tokens)}")
    return [_token_width(t, spec, i) for i, t in enumerate(tokens)]


def canonical_mix(widths: list) -> str:
    """matc's canonical form: the comma list of widths and `skip`."""
    return ",".join("skip" if w is None else str(w) for w in widths)


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------

def load_checkpoint(path: str) -> dict:
    """The safetensors file as f32 tensors (BF16/F16 are widened)."""
    from safetensors.torch import load_file
    return {name: t.float() for name, t in load_file(path).items()}


def layer_prefix(i: int) -> str:
    return f"model.layers.{i}."


# --------------------------------------------------------------------------
# The math shared by both models
# --------------------------------------------------------------------------

def rms_norm(x, weight, eps):
    x32 = x.float()
    return x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope_tables(spec: Spec, positions: int):
    """cos, sin [positions, head_dim / 2]: angles in f64, rounded once to f32."""
    half = spec.head_dim // 2
    j = torch.arange(half, dtype=torch.float64)
    inv_freq = spec.rope_theta ** (-2.0 * j / spec.head_dim)
    angle = torch.arange(positions, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(angle).float(), torch.sin(angle).float()


def apply_rope(x, cos, sin):
    """x [..., T, head_dim]; cos, sin [T, half]: rotate-half layout."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def activation(name):
    if name == "silu":
        return F.silu
    if name == "gelu_pytorch_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    raise ValueError(f"hidden_act '{name}' is not supported")


def expand_kv(x, groups):
    """[B, kv_heads, T, d] -> [B, kv_heads * groups, T, d] (query head j
    uses KV head j // groups)."""
    if groups == 1:
        return x
    b, kvh, t, d = x.shape
    return x[:, :, None].expand(b, kvh, groups, t, d).reshape(b, kvh * groups, t, d)


def project_qkv(spec, w, x, cos, sin):
    """q [B, H, T, d], k and v [B, KVH, T, d] after RoPE."""
    b, t, _ = x.shape
    d = spec.head_dim
    q = F.linear(x, w["q"]).view(b, t, spec.num_heads, d).transpose(1, 2)
    k = F.linear(x, w["k"]).view(b, t, spec.num_kv_heads, d).transpose(1, 2)
    v = F.linear(x, w["v"]).view(b, t, spec.num_kv_heads, d).transpose(1, 2)
    return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v


def causal_attention(spec, q, k, v):
    """Attention of T positions among themselves, from position 0."""
    groups = spec.num_heads // spec.num_kv_heads
    out = F.scaled_dot_product_attention(q, expand_kv(k, groups), expand_kv(v, groups),
                                         is_causal=True)
    b, h, t, d = out.shape
    return out.transpose(1, 2).reshape(b, t, h * d)


def ffn(x, gate, up, down, act):
    return F.linear(act(F.linear(x, gate)) * F.linear(x, up), down)


# --------------------------------------------------------------------------
# One submodel, for inference
# --------------------------------------------------------------------------

class Submodel(torch.nn.Module):
    """The submodel of one mix, with a static KV cache of `cache_len`
    positions. Batch 1.

    prefill(tokens [1, P]) -> (logits of the last row [1, V],
                               k, v [layers, kv_heads, P, head_dim])
    decode(token [1, 1], pos [] int64, k_cache, v_cache
           [layers, kv_heads, cache_len, head_dim])
        -> (logits [1, V], k_new, v_new [layers, kv_heads, 1, head_dim])
    The caller writes k_new/v_new into the caches at `pos`; decode attends
    to cache positions < pos and to the new token itself. Only kept layers
    are in the caches.
    """

    def __init__(self, spec: Spec, weights: dict, widths: list, cache_len: int):
        super().__init__()
        self.spec = spec
        self.widths = widths
        self.kept = [i for i, w in enumerate(widths) if w is not None]
        self.cache_len = cache_len
        self.act = activation(spec.hidden_act)
        self.eps = spec.rms_norm_eps

        def param(t):
            return torch.nn.Parameter(t.contiguous().clone(), requires_grad=False)

        self.embed = param(weights["model.embed_tokens.weight"])
        self.final_norm = param(weights["model.norm.weight"])
        self.head = (self.embed if spec.tied
                     else param(weights["lm_head.weight"]))
        self.layers = torch.nn.ModuleList()
        for i in self.kept:
            p = layer_prefix(i)
            layer = torch.nn.Module()
            layer.attn_norm = param(weights[p + "input_layernorm.weight"])
            layer.q = param(weights[p + "self_attn.q_proj.weight"])
            layer.k = param(weights[p + "self_attn.k_proj.weight"])
            layer.v = param(weights[p + "self_attn.v_proj.weight"])
            layer.o = param(weights[p + "self_attn.o_proj.weight"])
            w = widths[i]
            layer.width = w
            if w > 0:
                layer.ffn_norm = param(weights[p + "post_attention_layernorm.weight"])
                layer.gate = param(weights[p + "mlp.gate_proj.weight"][:w])
                layer.up = param(weights[p + "mlp.up_proj.weight"][:w])
                layer.down = param(weights[p + "mlp.down_proj.weight"][:, :w])
            self.layers.append(layer)
        cos, sin = rope_tables(spec, max(cache_len, 1))
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def _weights(self, layer):
        return {"q": layer.q, "k": layer.k, "v": layer.v}

    def _ffn_residual(self, layer, h):
        if layer.width > 0:
            x = rms_norm(h, layer.ffn_norm, self.eps)
            h = h + ffn(x, layer.gate, layer.up, layer.down, self.act)
        return h

    def _logits(self, h_last):
        return F.linear(rms_norm(h_last, self.final_norm, self.eps), self.head)

    def prefill(self, tokens):
        t = tokens.shape[1]
        cos, sin = self.cos[:t], self.sin[:t]
        h = F.embedding(tokens, self.embed)
        ks, vs = [], []
        for layer in self.layers:
            x = rms_norm(h, layer.attn_norm, self.eps)
            q, k, v = project_qkv(self.spec, self._weights(layer), x, cos, sin)
            ks.append(k[0])
            vs.append(v[0])
            h = h + F.linear(causal_attention(self.spec, q, k, v), layer.o)
            h = self._ffn_residual(layer, h)
        return self._logits(h[:, -1]), torch.stack(ks), torch.stack(vs)

    def decode(self, token, pos, k_cache, v_cache):
        spec = self.spec
        d, kvh = spec.head_dim, spec.num_kv_heads
        groups = spec.num_heads // kvh
        cos = self.cos.index_select(0, pos.reshape(1))
        sin = self.sin.index_select(0, pos.reshape(1))
        visible = torch.arange(self.cache_len, device=token.device) < pos
        bias = torch.where(visible, 0.0, float("-inf"))  # [C]
        scale = 1.0 / math.sqrt(d)
        h = F.embedding(token, self.embed)
        ks, vs = [], []
        for n, layer in enumerate(self.layers):
            x = rms_norm(h, layer.attn_norm, self.eps)
            q, k, v = project_qkv(spec, self._weights(layer), x, cos, sin)
            ks.append(k[0])
            vs.append(v[0])
            # Scores of each query head against the cached positions and the
            # new token, heads grouped by their KV head: [kvh, groups, ...].
            qg = q[0].reshape(kvh, groups, d) * scale
            cached = torch.matmul(qg, k_cache[n].transpose(1, 2)) + bias  # [kvh, g, C]
            own = (qg * k[0]).sum(-1, keepdim=True)  # [kvh, g, 1]
            probs = torch.softmax(torch.cat((cached, own), dim=-1), dim=-1)
            out = torch.matmul(probs[..., :-1], v_cache[n]) + probs[..., -1:] * v[0]
            h = h + F.linear(out.reshape(1, 1, spec.num_heads * d), layer.o)
            h = self._ffn_residual(layer, h)
        return self._logits(h[:, -1]), torch.stack(ks), torch.stack(vs)

    def empty_cache(self):
        shape = (len(self.layers), self.spec.num_kv_heads, self.cache_len, self.spec.head_dim)
        return torch.zeros(shape), torch.zeros(shape)


def greedy_generate(model: Submodel, prompt: list, new_tokens: int,
                    prefill=None, decode=None) -> list:
    """Greedy tokens as matc's generate makes them: the prefill's token, then
    one per decode call; new_tokens + 1 in all. `prefill`/`decode` default to
    the model's methods (pass compiled ones to use them)."""
    prefill = prefill or model.prefill
    decode = decode or model.decode
    with torch.no_grad():
        tokens = torch.tensor([prompt], dtype=torch.long)
        logits, k, v = prefill(tokens)
        k_cache, v_cache = model.empty_cache()
        p = len(prompt)
        k_cache[:, :, :p] = k
        v_cache[:, :, :p] = v
        out = [int(torch.argmax(logits[0]))]
        for i in range(new_tokens):
            pos = p + i
            logits, k, v = decode(torch.tensor([[out[-1]]]), torch.tensor(pos), k_cache, v_cache)
            k_cache[:, :, pos:pos + 1] = k
            v_cache[:, :, pos:pos + 1] = v
            out.append(int(torch.argmax(logits[0])))
    return out


def full_logits(model: Submodel, tokens: list):
    """Logits of every row of one pass from position 0, as `forward` writes
    them (for checks)."""
    with torch.no_grad():
        t = torch.tensor([tokens], dtype=torch.long)
        n = t.shape[1]
        cos, sin = model.cos[:n], model.sin[:n]
        h = F.embedding(t, model.embed)
        for layer in model.layers:
            x = rms_norm(h, layer.attn_norm, model.eps)
            q, k, v = project_qkv(model.spec, model._weights(layer), x, cos, sin)
            h = h + F.linear(causal_attention(model.spec, q, k, v), layer.o)
            h = model._ffn_residual(layer, h)
        return model._logits(h)[0]


# --------------------------------------------------------------------------
# The universal model, for training
# --------------------------------------------------------------------------

class UniversalModel(torch.nn.Module):
    """Every weight of the checkpoint as a parameter, named as in the
    checkpoint with dots replaced by '__' (nn.Module names cannot hold
    dots). forward(tokens [B, T], width) -> logits [B, T, V], every layer at
    FFN width min(width, d_ff_i) (a granularity)."""

    def __init__(self, spec: Spec, weights: dict):
        super().__init__()
        self.spec = spec
        self.act = activation(spec.hidden_act)
        self.params = torch.nn.ParameterDict(
            {name.replace(".", "__"): torch.nn.Parameter(t.clone())
             for name, t in weights.items()})
        cos, sin = rope_tables(spec, spec.max_positions)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def weight(self, name):
        return self.params[name.replace(".", "__")]

    def named_weights(self):
        return {name.replace("__", "."): p for name, p in self.params.items()}

    def forward(self, tokens, width: int):
        spec = self.spec
        t = tokens.shape[1]
        cos, sin = self.cos[:t], self.sin[:t]
        eps = spec.rms_norm_eps
        embed = self.weight("model.embed_tokens.weight")
        h = F.embedding(tokens, embed)
        for i in range(spec.num_layers):
            p = layer_prefix(i)
            x = rms_norm(h, self.weight(p + "input_layernorm.weight"), eps)
            w = {"q": self.weight(p + "self_attn.q_proj.weight"),
                 "k": self.weight(p + "self_attn.k_proj.weight"),
                 "v": self.weight(p + "self_attn.v_proj.weight")}
            q, k, v = project_qkv(spec, w, x, cos, sin)
            h = h + F.linear(causal_attention(spec, q, k, v),
                             self.weight(p + "self_attn.o_proj.weight"))
            m = min(width, spec.d_ff[i])
            if m > 0:
                x = rms_norm(h, self.weight(p + "post_attention_layernorm.weight"), eps)
                h = h + ffn(x, self.weight(p + "mlp.gate_proj.weight")[:m],
                            self.weight(p + "mlp.up_proj.weight")[:m],
                            self.weight(p + "mlp.down_proj.weight")[:, :m], self.act)
        head = embed if spec.tied else self.weight("lm_head.weight")
        return F.linear(rms_norm(h, self.weight("model.norm.weight"), eps), head)

    def decayed(self, name: str, decay_norms_and_embeddings=False) -> bool:
        """matc train's rule: projections and an untied LM head decay; norms
        and the embedding only with --decay-norms-and-embeddings."""
        if decay_norms_and_embeddings:
            return True
        return name.endswith("_proj.weight") or name == "lm_head.weight"


def set_threads(threads: int):
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set in this process
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))

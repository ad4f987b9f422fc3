#!/usr/bin/env python3
"""Hand-built one-layer checkpoints whose logits have a closed form.

usage: handmade.py CASE DIR [--dtype F32|BF16|F16]

Writes DIR/spec.json, DIR/weights.safetensors and DIR/expected*.npy
('<f8', [tokens, vocab]) for matc-reference's lit tests. Each case zeroes
whatever it does not test (o_proj or down_proj), so the expected logits follow
from a short formula written here in plain Python, independently of
matc-reference's C++. Every weight is a small dyadic number, exact in F32,
BF16 and F16. Cases and their token ids:

  head         tokens 0,3,1,4    embedding, final RMSNorm (eps 0.25, weight),
                                 untied lm_head; attention and FFN add nothing
  ffn-silu     tokens 2,4,0      SwiGLU FFN at widths 0, 1, 2 (expected-w<N>)
  ffn-gelu     tokens 2,4,0      GeGLU (tanh form); expected-erf uses erf GELU
  gqa-average  tokens 1,4,2,5,0  q = 0, so causal attention averages values;
                                 4 query heads on 2 KV heads (head j // 2);
                                 expected-modulo maps head j to KV head j % 2
  rope         tokens 0,3,1,4,2  rotate-half RoPE, head_dim 4, theta 100;
                                 expected-interleaved rotates pairs (2i, 2i+1)
  near-tie     tokens 0,1,2      every row's logits are about 1, 1, 1 + 2^-17,
                                 0.5, 1 - 2^-15, 1 - 2^-12 (F16 subnormals):
                                 greedy's margins 0, 7.6e-6, 0.5, 3.8e-5, 2.5e-4
"""
import json
import math
import os
import struct
import sys

EMBED5 = [[1, 2, 3, 4], [0, 0, 0, 1], [-2, 1, 0, 0.5], [3, -1, 2, 0],
          [0.5, 0.5, -0.5, 1]]


def zeros(rows, cols):
    return [[0.0] * cols for _ in range(rows)]


def eye(n, scale=1.0):
    return [[scale if i == j else 0.0 for j in range(n)] for i in range(n)]


def matvec(m, x):
    return [sum(a * b for a, b in zip(row, x)) for row in m]


def rmsnorm(x, eps, w=None):
    scale = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    w = w or [1.0] * len(x)
    return [v * scale * wi for v, wi in zip(x, w)]


def spec_for(vocab, hidden, heads, kv_heads, head_dim, eps, theta, act, tie):
    return {"vocab_size": vocab, "hidden_size": hidden, "num_hidden_layers": 1,
            "num_attention_heads": heads, "num_key_value_heads": kv_heads,
            "head_dim": head_dim, "intermediate_size": 2,
            "max_position_embeddings": 16, "rms_norm_eps": eps,
            "rope_theta": theta, "hidden_act": act,
            "tie_word_embeddings": tie,
            "matformer": {"granularities": [1, 2], "mix": "XL"}}


def layer(hidden, q, k, v, o, gate, up, down, post=None):
    p = "model.layers.0."
    return {p + "input_layernorm.weight": [1.0] * hidden,
            p + "self_attn.q_proj.weight": q, p + "self_attn.k_proj.weight": k,
            p + "self_attn.v_proj.weight": v, p + "self_attn.o_proj.weight": o,
            p + "post_attention_layernorm.weight": post or [1.0] * hidden,
            p + "mlp.gate_proj.weight": gate, p + "mlp.up_proj.weight": up,
            p + "mlp.down_proj.weight": down}


def logits_of(hidden_rows, head, eps, norm=None):
    return [matvec(head, rmsnorm(h, eps, norm)) for h in hidden_rows]


def case_head():
    eps, norm = 0.25, [1, 0.5, 2, -1]
    lm_head = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 1], [-1, 2, 0, 0.5],
               [0, 0, -3, 1]]
    tensors = {"model.embed_tokens.weight": EMBED5,
               "model.norm.weight": norm, "lm_head.weight": lm_head}
    busy = [[1, -1, 0.5, 2], [0.25, 1, -2, 1]]  # nonzero, but zeroed out below
    tensors.update(layer(4, eye(4, 3), eye(4, 2), eye(4), zeros(4, 4),
                         busy, busy, zeros(4, 2)))
    tokens = [0, 3, 1, 4]
    rows = [EMBED5[t] for t in tokens]
    return (spec_for(5, 4, 1, 1, 4, eps, 10000.0, "silu", False), tensors,
            {"expected": logits_of(rows, lm_head, eps, norm)})


def silu(a):
    return a / (1.0 + math.exp(-a))


def gelu_tanh(a):
    return 0.5 * a * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) *
                                      (a + 0.044715 * a ** 3)))


def gelu_erf(a):
    return 0.5 * a * (1.0 + math.erf(a / math.sqrt(2.0)))


def case_ffn(act_name):
    eps, post = 0.5, [1, 2, 0.5, 1]
    gate = [[1, -1, 0.5, 0], [0, 2, -1, 1]]
    up = [[0.5, 1, 1, -1], [1, 0, 0, 2]]
    down = [[1, 0], [0, 1], [1, -1], [0.5, 2]]
    tensors = {"model.embed_tokens.weight": EMBED5, "model.norm.weight": [1] * 4}
    tensors.update(layer(4, eye(4), eye(4), eye(4), zeros(4, 4), gate, up,
                         down, post))
    tokens = [2, 4, 0]

    def run(act, width):
        rows = []
        for t in tokens:
            e = EMBED5[t]
            x = rmsnorm(e, eps, post)
            h = list(e)
            for n in range(width):
                inner = act(sum(g * xi for g, xi in zip(gate[n], x))) * \
                    sum(u * xi for u, xi in zip(up[n], x))
                h = [hi + down[i][n] * inner for i, hi in enumerate(h)]
            rows.append(h)
        return logits_of(rows, EMBED5, eps)

    act = silu if act_name == "silu" else gelu_tanh
    expected = {"expected-w%d" % w: run(act, w) for w in (0, 1, 2)}
    if act_name != "silu":
        expected["expected-erf"] = run(gelu_erf, 2)
    return (spec_for(5, 4, 1, 1, 4, eps, 10000.0, act_name, True), tensors,
            expected)


def case_gqa_average():
    eps = 1e-5
    embed = [[1, 0, 2, -1, 0.5, 3, 0, 1], [0, 1, -1, 2, 1, 0, -2, 0.5],
             [2, 2, 0, 1, -1, 1, 0.5, 0], [-1, 0.5, 1, 0, 2, -2, 1, 1],
             [0, -1, 0.5, 1.5, 1, 0, 2, -1], [1, 1, 1, -1, 0, 0.5, -0.5, 2]]
    v_proj = [[1.0 if j == i else 0.0 for j in range(8)] for i in range(4)]
    k_proj = [[1, 2, 0, 0, 1, 0, 0, 1], [0, 1, 1, 0, 0, 2, 0, 0],
              [1, 0, 0, 1, 0, 0, 1, 0], [0, 0, 2, 0, 1, 0, 0, 1]]
    busy = [[1] * 8, [0.5] * 8]
    tensors = {"model.embed_tokens.weight": embed, "model.norm.weight": [1] * 8}
    tensors.update(layer(8, zeros(8, 8), k_proj, v_proj, eye(8), busy, busy,
                         zeros(8, 2)))
    tokens = [1, 4, 2, 5, 0]

    def run(kv_of_head):
        xs = [rmsnorm(embed[t], eps) for t in tokens]
        rows = []
        for t, tok in enumerate(tokens):
            h = list(embed[tok])
            for j in range(4):          # q = 0: every key scores 0, so
                for d in range(2):      # softmax is uniform over s <= t
                    src = 2 * kv_of_head(j) + d
                    h[2 * j + d] += sum(x[src] for x in xs[:t + 1]) / (t + 1)
            rows.append(h)
        return logits_of(rows, embed, eps)

    return (spec_for(6, 8, 4, 2, 2, eps, 10000.0, "silu", True), tensors,
            {"expected": run(lambda j: j // 2),
             "expected-modulo": run(lambda j: j % 2)})


def case_rope():
    eps, theta, dim = 1e-5, 100.0, 4
    q_proj = eye(4, 2)
    k_proj = [[0, 1.5, 0, 0], [1.5, 0, 0, 0], [0, 0, 0, 1.5], [0, 0, 1.5, 0]]
    busy = [[1, -1, 0.5, 2], [0.25, 1, -2, 1]]
    tensors = {"model.embed_tokens.weight": EMBED5, "model.norm.weight": [1] * 4}
    tensors.update(layer(4, q_proj, k_proj, eye(4), eye(4), busy, busy,
                         zeros(4, 2)))
    tokens = [0, 3, 1, 4, 2]
    inv_freq = [theta ** (-i / dim) for i in range(0, dim, 2)]  # [1, 0.1]

    def hf_rope(x, pos):
        # Hugging Face: x * cos + rotate_half(x) * sin over cat(freqs, freqs)
        freqs = [pos * f for f in inv_freq] * 2
        half = dim // 2
        rotated = [-v for v in x[half:]] + x[:half]
        return [a * math.cos(f) + b * math.sin(f)
                for a, b, f in zip(x, rotated, freqs)]

    def interleaved_rope(x, pos):  # GPT-J / llama.cpp "normal" layout
        out = list(x)
        for i, f in enumerate(inv_freq):
            c, s = math.cos(pos * f), math.sin(pos * f)
            out[2 * i] = x[2 * i] * c - x[2 * i + 1] * s
            out[2 * i + 1] = x[2 * i + 1] * c + x[2 * i] * s
        return out

    def run(rope):
        xs = [rmsnorm(EMBED5[t], eps) for t in tokens]
        qs = [rope(matvec(q_proj, x), p) for p, x in enumerate(xs)]
        ks = [rope(matvec(k_proj, x), p) for p, x in enumerate(xs)]
        rows = []
        for t, tok in enumerate(tokens):
            scores = [sum(a * b for a, b in zip(qs[t], ks[s])) / math.sqrt(dim)
                      for s in range(t + 1)]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            total = sum(weights)
            h = list(EMBED5[tok])
            for s in range(t + 1):
                h = [hi + weights[s] / total * xs[s][i] for i, hi in enumerate(h)]
            rows.append(h)
        return logits_of(rows, EMBED5, eps)

    return (spec_for(5, 4, 1, 1, dim, eps, theta, "silu", True), tensors,
            {"expected": run(hf_rope), "expected-interleaved": run(interleaved_rope)})


def case_near_tie():
    eps = 2.0 ** -20
    lm_head = [[1, 0], [1, 0], [1, 2.0 ** -17], [0.5, 0], [1, -2.0 ** -15],
               [1, -2.0 ** -12]]
    # Every token normalizes to [1, 1] (up to eps), so all rows are equal.
    embed = [[1, 1], [2, 2], [0.5, 0.5], [4, 4], [0.25, 0.25], [8, 8]]
    tensors = {"model.embed_tokens.weight": embed, "model.norm.weight": [1, 1],
               "lm_head.weight": lm_head}
    busy = [[1, -1], [0.5, 2]]
    tensors.update(layer(2, eye(2), eye(2), eye(2), zeros(2, 2), busy, busy,
                         zeros(2, 2)))
    rows = [embed[t] for t in (0, 1, 2)]
    return (spec_for(6, 2, 1, 1, 2, eps, 10000.0, "silu", False), tensors,
            {"expected": logits_of(rows, lm_head, eps)})


CASES = {"near-tie": case_near_tie, "head": case_head, "ffn-silu": lambda: case_ffn("silu"),
         "ffn-gelu": lambda: case_ffn("gelu_pytorch_tanh"),
         "gqa-average": case_gqa_average, "rope": case_rope}


def flatten(value):
    if isinstance(value, list):
        shape, flat = [len(value)], []
        inner = None
        for item in value:
            item_shape, item_flat = flatten(item)
            assert inner in (None, item_shape), "ragged tensor"
            inner = item_shape
            flat += item_flat
        return shape + (inner or []), flat
    return [], [float(value)]


def encode(values, dtype):
    out = bytearray()
    for v in values:
        if dtype == "F32":
            data = struct.pack("<f", v)
        elif dtype == "F16":
            data = struct.pack("<e", v)
            assert struct.unpack("<e", data)[0] == v, v
        else:  # BF16: the top half of the f32 bits
            bits = struct.unpack("<I", struct.pack("<f", v))[0]
            assert bits & 0xFFFF == 0, "%r is not exact in bf16" % v
            data = struct.pack("<H", bits >> 16)
        if dtype == "F32":
            assert struct.unpack("<f", data)[0] == v, v
        out += data
    return bytes(out)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        shape, flat = flatten(value)
        data = encode(flat, dtype)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_npy(path, rows):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (
        len(rows), len(rows[0]))
    header += " " * (-(len(header) + 11) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode())
        f.write(b"".join(struct.pack("<d", v) for row in rows for v in row))


def main(argv):
    if len(argv) not in (3, 5) or argv[1] not in CASES or \
            (len(argv) == 5 and (argv[3] != "--dtype" or
                                 argv[4] not in ("F32", "BF16", "F16"))):
        sys.exit(__doc__)
    spec, tensors, expected = CASES[argv[1]]()
    os.makedirs(argv[2], exist_ok=True)
    with open(os.path.join(argv[2], "spec.json"), "w") as f:
        json.dump(spec, f, indent=2)
    write_safetensors(os.path.join(argv[2], "weights.safetensors"), tensors,
                      argv[4] if len(argv) == 5 else "F32")
    for name, rows in expected.items():
        write_npy(os.path.join(argv[2], name + ".npy"), rows)


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""PyTorch's side of bench/run-training.sh: joint nested training of the
universal model of a matc spec (model.py's UniversalModel), as `OUT train`
does it (docs/REFERENCE.md, train):

- batches of B random windows of T + 1 bytes from the first 90% of the data;
- `--sampling all`: loss = sum_i lambda_i * CE_i, every granularity on the
  same batch (lambda from the spec's loss_weights, default 1); probabilities:
  one granularity drawn per step, loss = its CE;
- AdamW (beta1 0.9, beta2 0.95, eps 1e-8, weight decay 0.1 on the
  projections and an untied LM head only), linear warm-up then cosine decay
  to lr/10, clipping to global norm 1.0;
- torch.set_num_threads(--threads).

Times --steps steps after --warmup-steps untimed ones (for torch.compile the
warm-up includes compiling every granularity's graph) and prints one JSON
line: tokens/s (B x T per step, as matc's progress line counts them), the
mean loss per granularity of the first and last timed steps.

usage: train_torch.py --spec SPEC --data FILE [--init W] [--compile]
       [--batch 8] [--seq-len 256] [--sampling all|p0,p1,...]
       [--warmup-steps 1] [--steps 3] [--threads 2] [--lr 1e-3] [--seed 0]"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as mm  # noqa: E402


def random_init(spec):
    """matc init's distribution (not its exact draws): matrices N(0, 0.02),
    norms 1."""
    g = torch.Generator().manual_seed(0)
    h, v = spec.hidden_size, spec.vocab_size
    q, kv = spec.num_heads * spec.head_dim, spec.num_kv_heads * spec.head_dim
    w = {"model.embed_tokens.weight": torch.randn(v, h, generator=g) * 0.02}
    for i in range(spec.num_layers):
        p = mm.layer_prefix(i)
        w[p + "input_layernorm.weight"] = torch.ones(h)
        for name, shape in (("q_proj", (q, h)), ("k_proj", (kv, h)), ("v_proj", (kv, h)),
                            ("o_proj", (h, q))):
            w[p + f"self_attn.{name}.weight"] = torch.randn(*shape, generator=g) * 0.02
        w[p + "post_attention_layernorm.weight"] = torch.ones(h)
        f = spec.d_ff[i]
        if f:
            for name, shape in (("gate_proj", (f, h)), ("up_proj", (f, h)), ("down_proj", (h, f))):
                w[p + f"mlp.{name}.weight"] = torch.randn(*shape, generator=g) * 0.02
    w["model.norm.weight"] = torch.ones(h)
    if not spec.tied:
        w["lm_head.weight"] = torch.randn(v, h, generator=g) * 0.02
    return w


def learning_rate(step, peak, minimum, warmup, total):
    """OUT train's schedule for step s (from 1)."""
    if warmup > 0 and step <= warmup:
        return peak * step / warmup
    p = (step - warmup) / max(total - warmup, 1)
    p = min(max(p, 0.0), 1.0)
    return minimum + (peak - minimum) * (1 + math.cos(math.pi * p)) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--init")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--sampling", default="all")
    ap.add_argument("--warmup-steps", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    mm.set_threads(args.threads)
    torch.manual_seed(args.seed)
    spec = mm.load_spec(args.spec)
    grans = spec.granularities
    weights = mm.load_checkpoint(args.init) if args.init else random_init(spec)
    model = mm.UniversalModel(spec, weights).train()
    decay, no_decay = [], []
    for name, p in model.named_weights().items():
        (decay if model.decayed(name) else no_decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    total = args.warmup_steps + args.steps
    warmup = min(100, total // 10)

    data = torch.frombuffer(bytearray(open(args.data, "rb").read()), dtype=torch.uint8)
    train = data[: int(len(data) * 0.9)].long()
    t = args.seq_len
    if len(train) < t + 1:
        sys.exit(f"train_torch.py: --data {args.data}: fewer than {t + 1} training bytes")
    if args.sampling == "all":
        probs = None
    else:
        probs = torch.tensor([float(x) for x in args.sampling.split(",")])
        if len(probs) != len(grans):
            sys.exit(f"train_torch.py: --sampling needs {len(grans)} probabilities")

    def joint_loss(x, y, which):
        loss = 0.0
        losses = []
        for i in which:
            logits = model(x, grans[i])
            ce = F.cross_entropy(logits.reshape(-1, spec.vocab_size), y.reshape(-1))
            weight = spec.loss_weights[i] if probs is None else 1.0
            loss = loss + weight * ce
            losses.append(ce)
        # One stacked output, detached by the caller: with one granularity,
        # returning ce.detach() beside loss (= ce) made torch.compile (2.15)
        # return a loss that does not require grad.
        return loss, torch.stack(losses)

    loss_fn = torch.compile(joint_loss) if args.compile else joint_loss
    params = list(model.parameters())

    def step(s):
        starts = torch.randint(0, len(train) - t, (args.batch,))
        windows = torch.stack([train[i:i + t + 1] for i in starts.tolist()])
        x, y = windows[:, :-1], windows[:, 1:]
        if probs is None:
            which = list(range(len(grans)))
        else:
            which = [int(torch.multinomial(probs, 1))]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(s, args.lr, args.lr / 10, warmup, total)
        optimizer.zero_grad(set_to_none=True)
        loss, losses = loss_fn(x, y, which)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        return {spec_name(i): float(l) for i, l in zip(which, losses.detach())}

    def spec_name(i):
        g = len(grans)
        if g == 4:
            return ["S", "M", "L", "XL"][i]
        return "S" if i == 0 else "XL" if i == g - 1 else f"g{i}"

    t0 = time.perf_counter()
    for s in range(1, args.warmup_steps + 1):
        step(s)
    warm_up_s = time.perf_counter() - t0
    step_s = []
    losses = []
    for s in range(args.warmup_steps + 1, total + 1):
        t0 = time.perf_counter()
        losses.append(step(s))
        step_s.append(time.perf_counter() - t0)
    tokens = args.batch * args.seq_len
    print(json.dumps({
        "engine": "torch-compile" if args.compile else "torch-eager",
        "sampling": args.sampling, "batch": args.batch, "seq_len": args.seq_len,
        "threads": args.threads, "warmup_steps": args.warmup_steps, "steps": args.steps,
        "tok_s": tokens * len(step_s) / sum(step_s),
        "step_s": step_s, "warm_up_s": warm_up_s,
        "loss_first_timed_step": losses[0] if losses else None,
        "loss_last_timed_step": losses[-1] if losses else None,
        "torch": torch.__version__,
    }), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks model.py against a compiled matc program on the same weights: for
each MIX, the logits of one pass (`OUT forward`) and the greedy tokens
(`OUT generate --temperature 0`, 0 is the default) through the KV cache.
Prints one line per mix and exits 1 on a mismatch.

usage: check_model.py SPEC WEIGHTS ELASTIC_PROGRAM [--mix MIX ...]
       [--prompt-len N] [--new-tokens N]"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as mm  # noqa: E402


def benchmark_prompt(length, vocab):
    """The prompt matc's bench uses (runtime/lib/Benchmark.cpp)."""
    return [(i * 7919 + 13) % vocab for i in range(length)]


def matc_tokens(program, weights, mix, prompt, new_tokens):
    out = subprocess.run(
        [program, "generate", "--weights", weights, "--mix", mix, "--tokens",
         ",".join(map(str, prompt)), "--max-new-tokens", str(new_tokens), "--print-tokens"],
        check=True, capture_output=True, text=True).stdout
    return [int(t) for t in out.split()[0].split(",")] if out.strip() else []


def matc_logits(program, weights, mix, prompt):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "logits.npy")
        subprocess.run([program, "forward", "--weights", weights, "--mix", mix, "--tokens",
                        ",".join(map(str, prompt)), "--output", path],
                       check=True, capture_output=True)
        return np.load(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("weights")
    ap.add_argument("program")
    ap.add_argument("--mix", action="append")
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    mm.set_threads(args.threads)
    spec = mm.load_spec(args.spec)
    weights = mm.load_checkpoint(args.weights)
    prompt = benchmark_prompt(args.prompt_len, spec.vocab_size)
    ok = True
    for mix in args.mix or ["XL"]:
        widths = mm.parse_mix(mix, spec)
        canon = mm.canonical_mix(widths)
        model = mm.Submodel(spec, weights, widths, args.prompt_len + args.new_tokens + 1)
        ref = matc_logits(args.program, args.weights, canon, prompt)
        ours = mm.full_logits(model, prompt).numpy()
        scale = float(np.abs(ref).max())
        diff = float(np.abs(ref - ours).max())
        theirs = matc_tokens(args.program, args.weights, canon, prompt, args.new_tokens + 1)
        mine = mm.greedy_generate(model, prompt, args.new_tokens)
        same = theirs == mine
        # f32 against f32 in another order of operations: about 1e-6 of the
        # logits' size; 1e-4 would be a different model.
        close = diff <= 1e-4 * max(scale, 1.0)
        ok &= same and close
        print(f"mix {canon}: logits max |diff| {diff:.2e} (max |logit| {scale:.2e}) "
              f"{'ok' if close else 'MISMATCH'}; greedy tokens "
              f"{'agree' if same else 'DIFFER'} ({len(mine)} tokens)")
        if not same:
            print(f"  matc:  {theirs}\n  torch: {mine}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

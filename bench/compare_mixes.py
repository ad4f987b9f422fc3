#!/usr/bin/env python3
"""Prints `bench` JSON lines side by side, with speed ratios against the first
(the baseline) next to the ratio of their FLOPs and weight bytes per token."""
import json
import sys


def main(paths):
    runs = [json.loads(open(path).readline()) for path in paths]
    base = runs[0]
    header = f"{'mix':<40} {'prefill tok/s':>14} {'decode tok/s':>13} {'MFLOP/token':>12} {'weight MB':>10}"
    print(header)
    for run in runs:
        print(f"{run['mix']:<40} {run['prefill_tok_s']:>14.1f} {run['decode_tok_s']:>13.1f} "
              f"{run['flops_per_token'] / 1e6:>12.1f} {run['weight_bytes'] / 1e6:>10.1f}")
    for run in runs[1:]:
        print(f"\n{run['mix']} vs {base['mix']}:")
        print(f"  prefill speed-up {run['prefill_tok_s'] / base['prefill_tok_s']:.2f}x, "
              f"decode speed-up {run['decode_tok_s'] / base['decode_tok_s']:.2f}x")
        print(f"  FLOPs per token ratio {base['flops_per_token'] / run['flops_per_token']:.2f}x, "
              f"weight bytes ratio {base['weight_bytes'] / run['weight_bytes']:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: compare_mixes.py BASELINE.json OTHER.json [...]")
    main(sys.argv[1:])

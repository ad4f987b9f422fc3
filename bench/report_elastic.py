#!/usr/bin/env python3
"""Summarizes bench/run-elastic.sh's output folder."""
import json
import sys
from pathlib import Path


def best(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    return max(r["prefill_tok_s"] for r in runs), max(r["decode_tok_s"] for r in runs)


def s_decode(path):
    replies = [json.loads(line) for line in open(path) if line.strip()]
    return [r["decode_tok_s"] for r in replies if r["mix"].startswith("256,")]


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main(out):
    out = Path(out)
    print("elastic vs static, same MIX (best of 5, interleaved; prompt 128, 128 new tokens):")
    print(f"{'mix':<4} {'static prefill':>15} {'elastic prefill':>16} {'ratio':>6} "
          f"{'static decode':>14} {'elastic decode':>15} {'ratio':>6}")
    for mix in ("XL", "S"):
        sp, sd = best(out / f"static-{mix}.jsonl")
        ep, ed = best(out / f"elastic-{mix}.jsonl")
        print(f"{mix:<4} {sp:>15.1f} {ep:>16.1f} {ep / sp:>6.2f} {sd:>14.1f} {ed:>15.1f} {ed / sd:>6.2f}")

    same, alternating = s_decode(out / "same.jsonl"), s_decode(out / "alternating.jsonl")
    print("\nswitching mixes between serve requests (decode tok/s of the S requests, median):")
    print(f"  16 requests all S: {median(same):.1f}; 8 of 16 alternating XL/S: "
          f"{median(alternating):.1f} (ratio {median(alternating) / median(same):.2f})")

    print("\nspeculative decoding, main mix XL, greedy, prompt 64, 128 new tokens:")
    for draft in ("S", "M"):
        run = json.loads(open(out / f"spec-{draft}.json").readline())
        print(f"  draft {draft}: plain {run['decode_tok_s']:.1f} tok/s, speculative "
              f"{run['speculative_decode_tok_s']:.1f} tok/s, speed-up "
              f"{run['speculative_speedup']:.2f}x, accepted {run['accept_rate']:.0%} of drafts, "
              f"{run['tokens_per_main_call']:.2f} tokens per main call, same output: "
              f"{run['speculative_output_matches']}")


if __name__ == "__main__":
    main(sys.argv[1])

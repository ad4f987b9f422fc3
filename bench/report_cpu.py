#!/usr/bin/env python3
"""Turns bench/run-cpu.sh's JSON lines into a table of speeds, ratios to the
machine's measured peaks, and the S-vs-XL speed-up next to the FLOP ratio."""
import json
import sys


def best(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    return {
        "run": runs[0],
        "prefill": max(r["prefill_tok_s"] for r in runs),
        "decode": max(r["decode_tok_s"] for r in runs),
    }


def main(peak_path, *bench_paths):
    peak = json.loads(open(peak_path).readline())
    # Compiled models run their parallel loops on every core (OpenMP).
    flops_peak = peak["fma_gflops_all"] * 1e9
    bytes_peak = peak["read_gbs_all"] * 1e9
    rows = [best(path) for path in bench_paths]
    print(f"machine ({peak['cores']} cores): {peak['fma_gflops_all']} GFLOP/s f32 FMA, "
          f"{peak['read_gbs_all']} GB/s read (1 core: {peak['fma_gflops_1core']}, "
          f"{peak['read_gbs_1core']})")
    print(f"{'mix':<32} {'prefill tok/s':>13} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'decode tok/s':>12} {'GB/s':>6} {'of peak':>8}")
    for row in rows:
        run = row["run"]
        prefill_flops = row["prefill"] * run["flops_per_token"]
        decode_bytes = row["decode"] * run["weight_bytes"]
        print(f"{run['mix']:<32} {row['prefill']:>13.1f} {prefill_flops / 1e9:>8.1f} "
              f"{prefill_flops / flops_peak:>8.1%} {row['decode']:>12.1f} "
              f"{decode_bytes / 1e9:>6.1f} {decode_bytes / bytes_peak:>8.1%}")
    base = rows[0]
    for row in rows[1:]:
        print(f"{row['run']['mix']} vs {base['run']['mix']}: prefill "
              f"{row['prefill'] / base['prefill']:.2f}x, decode "
              f"{row['decode'] / base['decode']:.2f}x faster; FLOPs per token "
              f"{base['run']['flops_per_token'] / row['run']['flops_per_token']:.2f}x fewer, "
              f"weight bytes {base['run']['weight_bytes'] / row['run']['weight_bytes']:.2f}x fewer")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: report_cpu.py PEAK.json BASELINE.jsonl OTHER.jsonl ...")
    main(*sys.argv[1:])

#!/usr/bin/env python3
"""Turns bench/run-training.sh's JSON lines into a Markdown section (training
tokens/s and peak RSS per engine and recipe, matc's ratio to each PyTorch
run), and optionally writes it into bench/RESULTS.md (replacing the section of
the same CPU and tag, or appending it).

usage: report_training.py TRAINING.jsonl [--results-md RESULTS.md]"""
import argparse
import json
import os
import sys

from report_peers import write_section

NAMES = {"matc": "matc `train`", "torch-eager": "PyTorch eager",
         "torch-compile": "PyTorch `torch.compile`"}


def section(path):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    header = next(l for l in lines if l.get("kind") == "machine")
    rows = [l for l in lines if l.get("kind") != "machine"]
    tag = "training-" + os.path.basename(path)[len("training-"):-len(".jsonl")]
    by = {(r["engine"], r["sampling"]): r for r in rows}
    out = [f"<!-- peers:{tag}:begin (bench/peers/report_training.py rewrites this section) -->",
           f"## Training: matc against PyTorch, {os.path.basename(header['spec'])}, "
           f"{header['cpu']} ({tag})", ""]
    target = ", ".join(header.get("target", []))
    out.append(
        f"`bash bench/run-training.sh` ({header['date']}) on `{header['spec']}`, batch x sequence "
        f"= {header['batch']} x {header['seq_len']}, {header['threads']} threads, the same initial "
        f"weights (`matc init --seed {header['seed']}`), corpus `{header['data']}` "
        f"({header['data_bytes']} bytes, the first 90% trains), AdamW (0.9, 0.95, 1e-8, weight "
        f"decay 0.1 on projections), lr {header['lr']}, clipping 1.0; {header['warmup_steps']} "
        f"untimed steps, then the mean over {header['steps']} timed steps. Tokens/s count "
        f"batch x sequence per step (as matc's progress line), whatever the number of "
        f"granularities a step runs. Peak RSS: `/usr/bin/time -v` of the whole process. "
        f"Machine: {header['cpu']} (matc compiles for {target or '?'}). "
        + (f"`matc compile --train`: {header['matc_compile_s']:.0f} s. " if "matc_compile_s" in header else "")
        + f"Raw lines: `{path}`.")
    out.append("")
    out.append("| recipe | engine | tokens/s | matc / this | peak RSS MiB | loss, first timed step | last |")
    out.append("|---|---|---|---|---|---|---|")
    for sampling in dict.fromkeys(r["sampling"] for r in rows):
        recipe = "`--sampling all`" if sampling == "all" else f"`--sampling {sampling}`"
        base = by.get(("matc", sampling))
        for engine in NAMES:
            r = by.get((engine, sampling))
            if r is None:
                continue
            if "error" in r:
                out.append(f"| {recipe} | {NAMES[engine]} | failed: {r['error'][:80]} ||||")
                continue
            ratio = (f"{base['tok_s'] / r['tok_s']:.2f}" if base and "error" not in base else "-")
            rss = r.get("peak_rss_bytes")
            loss = lambda d: " ".join(f"{k} {v:.3f}" for k, v in (d or {}).items())
            rate = f"{r['tok_s']:.0f}" if r["tok_s"] >= 100 else f"{r['tok_s']:.2g}"
            out.append(f"| {recipe} | {NAMES[engine]} | {rate} | {ratio} | "
                       f"{'-' if rss is None else f'{rss / 2**20:.0f}'} | "
                       f"{loss(r.get('loss_first_timed_step'))} | {loss(r.get('loss_last_timed_step'))} |")
    warm = [f"{NAMES[r['engine']]} {r['sampling']}: {r['warm_up_s']:.0f} s" for r in rows
            if r["engine"] == "torch-compile" and "warm_up_s" in r]
    if warm:
        out.append("")
        out.append("torch.compile's untimed warm-up steps (compiling every granularity's graph): "
                   + "; ".join(warm) + ".")
    out.append("")
    out.append("The goal (issue 9): matc at least 2x PyTorch's training tokens/s (`matc / this` >= 2).")
    out.append(f"<!-- peers:{tag}:end -->")
    return "\n".join(out) + "\n", tag


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--results-md")
    args = ap.parse_args()
    text, tag = section(args.jsonl)
    print(text)
    if args.results_md:
        write_section(args.results_md, text, tag)
        print(f"report_training.py: wrote the section peers:{tag} of {args.results_md}",
              file=sys.stderr)


if __name__ == "__main__":
    main()

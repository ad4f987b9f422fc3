#!/usr/bin/env python3
"""Turns bench/run-peers.sh's JSON lines into a Markdown section (every
engine's speed as a ratio to matc static and to the machine's peaks, the
agreement checks, S vs XL against the FLOPs ratio), a PNG bar plot of tokens/s
per mix with one bar per engine, and optionally writes the section into
bench/RESULTS.md (replacing the section of the same CPU and tag, or appending
it).

usage: report_peers.py PEERS.jsonl [--plot OUT.png] [--results-md RESULTS.md]"""
import argparse
import json
import os
import re
import sys

ENGINE_NAMES = {
    "matc-static": "matc static (`--mix`)",
    "matc-elastic": "matc elastic (`--elastic`)",
    "torch-eager": "PyTorch eager",
    "torch-compile": "PyTorch `torch.compile`",
    "onnxruntime": "ONNX Runtime",
    "llama.cpp": "llama.cpp (f32 weights)",
}
ORDER = list(ENGINE_NAMES)


def load(path):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    header = next(l for l in lines if l.get("kind") == "machine")
    rows = [l for l in lines if l.get("kind") != "machine"]
    return header, rows


def peaks(header):
    """FLOP/s and bytes/s for the run's thread count: the all-core figures
    when it uses every core, else the one-core figures times the threads."""
    threads, cores = header["threads"], header["cores"]
    if threads >= cores:
        return header["fma_gflops_all"] * 1e9, header["read_gbs_all"] * 1e9
    return (header["fma_gflops_1core"] * threads * 1e9, header["read_gbs_1core"] * threads * 1e9)


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def section(header, rows, path, plot):
    flops_peak, bytes_peak = peaks(header)
    target = ", ".join(header.get("target", []))
    tag = os.path.basename(path)[len("peers-"):-len(".jsonl")]
    mix_names = list(dict.fromkeys(r["mix_name"] for r in rows))
    engines = [e for e in ORDER if any(r["engine"] == e for r in rows)]
    by = {(r["engine"], r["mix_name"]): r for r in rows}
    spec = os.path.basename(header["spec"])
    out = []
    out.append(f"<!-- peers:{tag}:begin (bench/peers/report_peers.py rewrites this section) -->")
    out.append(f"## Peers on the same weights: {spec}, {header['cpu']} ({tag})")
    out.append("")
    out.append(
        f"`bash bench/run-peers.sh` ({header['date']}) on `{header['spec']}`, random weights "
        f"(`matc init --seed {header['seed']}`), prompt {header['prompt_len']} tokens, "
        f"{header['new_tokens']} new tokens, {header['threads']} threads, best of "
        f"{header['repeats']} timed runs after a warm-up, batch 1, f32. Machine: "
        f"{header['cpu']} (matc compiles for {target or '?'}), {header['cores']} cores; "
        f"measured in the same run: {header['fma_gflops_all']} GFLOP/s f32 FMA and "
        f"{header['read_gbs_all']} GB/s read on all cores ({header['fma_gflops_1core']} and "
        f"{header['read_gbs_1core']} on one). llama.cpp: f32 GGUF, f16 KV cache (its "
        f"default; this llama-bench accepts no f32 cache), flash "
        f"attention `{header.get('llama_flash_attn', 'auto')}` (`-fa`; on the CPU it computes "
        f"in lower precision, hence its larger logit differences). Raw lines: `{path}`.")
    out.append("")
    out.append("Mixes (canonical widths): " + "; ".join(
        f"{n} = `{header['mixes'][n]}`" if len(header['mixes'][n]) < 60 else
        f"{n} = `{header['mixes'][n][:57]}...`" for n in mix_names) + ".")
    out.append("")
    out.append("`x matc` is the engine's tokens/s over matc static's for the same mix (above 1: "
               "faster than matc); `of peak` is the matmul FLOPs per token (matc's cost model, "
               "`flops_per_token`) times prefill tokens/s over the FMA peak, and the weight bytes "
               "a decoded token reads (`weight_bytes`) times decode tokens/s over the read "
               "bandwidth (the roofline); `agree` says whether the greedy tokens equal matc's "
               "(prefill token and every decoded one); `logits` is the largest absolute "
               "difference of the prefill's last-row logits from matc's `forward`.")
    out.append("")
    out.append("| mix | engine | prefill tok/s | x matc | of FMA peak | decode tok/s | x matc | "
               "of roofline | agree | logits |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for m in mix_names:
        base = by.get(("matc-static", m))
        for e in engines:
            r = by.get((e, m))
            if r is None:
                continue
            if "error" in r:
                out.append(f"| {m} | {ENGINE_NAMES[e]} | failed: {r['error'][:80]} |||||||")
                continue
            p, d = r["prefill_tok_s"], r["decode_tok_s"]
            fpt, wb = r.get("flops_per_token"), r.get("weight_bytes")
            xp = p / base["prefill_tok_s"] if base and "error" not in base else None
            xd = d / base["decode_tok_s"] if base and "error" not in base and d else None
            pp = f"{p * fpt / flops_peak:.1%}" if fpt else "-"
            pd = f"{d * wb / bytes_peak:.1%}" if wb else "-"
            agree = "yes" if r.get("tokens_agree") else f"no (token {r.get('first_token_difference')})"
            diff = r.get("prefill_logits_max_abs_diff")
            out.append(f"| {m} | {ENGINE_NAMES[e]} | {p:.1f} | {fmt(xp, 2)} | {pp} | {d:.1f} | "
                       f"{fmt(xd, 2)} | {pd} | {agree} | {'-' if diff is None else f'{diff:.1e}'} |")
    # Speed-ups of the smallest mix over XL, against matc's FLOPs ratio.
    if "XL" in mix_names and "S" in mix_names:
        out.append("")
        out.append("S vs XL (speed-up of S over XL; the FLOPs and weight-bytes ratios are "
                   "matc's cost model):")
        out.append("")
        out.append("| engine | prefill S/XL | decode S/XL | FLOPs XL/S | weight bytes XL/S |")
        out.append("|---|---|---|---|---|")
        for e in engines:
            s, x = by.get((e, "S")), by.get((e, "XL"))
            if not s or not x or "error" in s or "error" in x:
                continue
            fr = x["flops_per_token"] / s["flops_per_token"] if s.get("flops_per_token") else None
            br = x["weight_bytes"] / s["weight_bytes"] if s.get("weight_bytes") else None
            out.append(f"| {ENGINE_NAMES[e]} | {s['prefill_tok_s'] / x['prefill_tok_s']:.2f} | "
                       f"{s['decode_tok_s'] / x['decode_tok_s']:.2f} | {fmt(fr, 2)} | {fmt(br, 2)} |")
    # matc elastic against static.
    if "matc-elastic" in engines and "matc-static" in engines:
        parts = []
        for m in mix_names:
            s, el = by.get(("matc-static", m)), by.get(("matc-elastic", m))
            if s and el and "error" not in s and "error" not in el:
                parts.append(f"{m} {el['prefill_tok_s'] / s['prefill_tok_s']:.2f} / "
                             f"{el['decode_tok_s'] / s['decode_tok_s']:.2f}")
        out.append("")
        out.append("matc elastic / static, prefill / decode: " + "; ".join(parts) + ".")
    # One-time costs, which the speeds leave out.
    costs = []
    for e, key, what in (("matc-static", "compile_s", "matc compile (static, per mix)"),
                         ("matc-elastic", "compile_s", "matc compile --elastic (once)"),
                         ("torch-compile", "warm_up_s", "torch.compile's first calls"),
                         ("onnxruntime", "export_s", "ONNX export (two graphs)"),
                         ("llama.cpp", "export_s", "GGUF writing")):
        values = [r[key] for r in rows if r["engine"] == e and key in r and r[key]]
        if values:
            costs.append(f"{what} {min(values):.0f}-{max(values):.0f} s")
    if costs:
        out.append("")
        out.append("One-time costs, not in the speeds: " + "; ".join(costs) + ".")
    versions = {}
    for r in rows:
        for k in ("torch", "onnxruntime", "llama_cpp_build"):
            if r.get(k):
                versions[k] = r[k]
    if versions:
        out.append("")
        out.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    if plot:
        out.append("")
        out.append(f"![tokens/s per mix and engine]({os.path.relpath(plot, 'bench')})")
    out.append(f"<!-- peers:{tag}:end -->")
    return "\n".join(out) + "\n"


def draw(header, rows, plot):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    mix_names = list(dict.fromkeys(r["mix_name"] for r in rows))
    engines = [e for e in ORDER if any(r["engine"] == e for r in rows)]
    by = {(r["engine"], r["mix_name"]): r for r in rows if "error" not in r}
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.8 / max(len(engines), 1)
    for ax, key, title in ((axes[0], "prefill_tok_s", f"prefill ({header['prompt_len']} tokens)"),
                           (axes[1], "decode_tok_s",
                            f"decode ({header['new_tokens']} tokens after the prompt)")):
        for k, e in enumerate(engines):
            xs = [i + (k - (len(engines) - 1) / 2) * width for i in range(len(mix_names))]
            ys = [by[(e, m)][key] if (e, m) in by else 0 for m in mix_names]
            ax.bar(xs, ys, width, label=ENGINE_NAMES[e].replace("`", ""))
        ax.set_xticks(range(len(mix_names)), mix_names)
        ax.set_ylabel("tokens/s")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{os.path.basename(header['spec'])}, {header['cpu']}, "
                 f"{header['threads']} threads, f32, batch 1")
    fig.tight_layout()
    tmp = plot + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, plot)


def write_section(results_md, text, tag):
    old = open(results_md).read() if os.path.exists(results_md) else "# Benchmark results\n"
    pattern = re.compile(rf"<!-- peers:{re.escape(tag)}:begin.*?<!-- peers:{re.escape(tag)}:end -->\n?",
                         re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: text, old)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    tmp = results_md + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, results_md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--plot")
    ap.add_argument("--results-md")
    args = ap.parse_args()
    header, rows = load(args.jsonl)
    if args.plot:
        draw(header, rows, args.plot)
    text = section(header, rows, args.jsonl, args.plot)
    print(text)
    if args.results_md:
        tag = os.path.basename(args.jsonl)[len("peers-"):-len(".jsonl")]
        write_section(args.results_md, text, tag)
        print(f"report_peers.py: wrote the section peers:{tag} of {args.results_md}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Writes the report of bench/reproduce/analyze.py: REPRODUCTION.md, three
PNG plots and the raw results as JSON. Every sentence that judges a claim is
computed from the measured numbers, so a rerun cannot keep a stale verdict."""
import datetime
import json
import os

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analyze import PAPER_850M, PAPER_SPECULATIVE  # noqa: E402

KIND_STYLE = {"uniform": ("tab:blue", "o"), "non-decreasing": ("tab:green", "^"),
              "decreasing": ("tab:red", "v"), "random": ("tab:gray", "s")}


def parameters(spec):
    h, heads, kv = spec["hidden_size"], spec["num_attention_heads"], spec["num_key_value_heads"]
    d = spec.get("head_dim", h // heads)
    attn = h * heads * d * 2 + h * kv * d * 2
    ffn = 3 * h * spec["intermediate_size"]
    head = 0 if spec.get("tie_word_embeddings", False) else spec["vocab_size"] * h
    return spec["vocab_size"] * h + spec["num_hidden_layers"] * (attn + ffn + 2 * h) + h + head


def minutes(seconds):
    return f"{seconds / 60:.1f} min"


def interpolated_uniform(points):
    """Loss of the piecewise-linear curve through the uniform mixes, at a FLOPs value."""
    uniform = sorted((p["flops_per_token"], p["loss"]) for p in points if p["kind"] == "uniform")
    xs, ys = [u[0] for u in uniform], [u[1] for u in uniform]
    return lambda f: float(np.interp(f, xs, ys))


def plot_losses(rows, path):
    fig, ax = plt.subplots(figsize=(6, 4))
    widths = [r["width"] for r in rows]
    ax.plot(widths, [r["matlm"] for r in rows], "o-", label="MatLM (one universal model)")
    ax.plot(widths, [r["baseline"] for r in rows], "s--", label="baselines (trained separately)")
    for r in rows:
        ax.annotate(r["granularity"], (r["width"], r["matlm"]), textcoords="offset points", xytext=(4, 6))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("FFN width (neurons per layer)")
    ax.set_ylabel("held-out loss (nats per byte)")
    ax.set_title("Held-out loss per granularity")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_mixes(points, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, (color, marker) in KIND_STYLE.items():
        ps = [p for p in points if p["kind"] == kind]
        if ps:
            ax.scatter([p["flops_per_token"] / 1e6 for p in ps], [p["loss"] for p in ps], c=color,
                       marker=marker, label=f"{kind} ({len(ps)})", s=36 if kind == "uniform" else 22, zorder=3)
    front = sorted((p["flops_per_token"] / 1e6, p["loss"]) for p in points if p["pareto"])
    ax.step([f[0] for f in front], [f[1] for f in front], where="post", color="black", lw=1,
            label="Pareto front", zorder=2)
    ax.set_xlabel("MFLOPs per token (projections)")
    ax.set_ylabel("held-out loss (nats per byte)")
    ax.set_title("Mix'n'Match from one universal checkpoint")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_consistency(rows, path):
    names = [r["granularity"] for r in rows if r["family"] == "matlm"]
    by = {(r["family"], r["granularity"]): r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    x = np.arange(len(names))
    for ax, key, label in ((axes[0], "kl_to_xl", "KL(XL || G), nats"),
                           (axes[1], "greedy_identical", "greedy tokens identical to XL's")):
        ax.bar(x - 0.2, [by["matlm", n][key] for n in names], 0.4, label="MatLM")
        ax.bar(x + 0.2, [by["baseline", n][key] for n in names], 0.4, label="baselines")
        ax.set_xticks(x, names)
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle("Consistency with XL")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(results, cfg):
    out_dir, results_dir = cfg["out_dir"], cfg["results_dir"]
    spec = json.load(open(cfg["spec"]))
    cpu_tag = "".join(c if c.isalnum() else "-" for c in cfg["target"].split(",")[1].strip()) \
        if cfg["target"].count(",") >= 1 else "cpu"
    results["date"] = datetime.date.today().isoformat()
    json_path = os.path.join(results_dir, f"reproduction-{cpu_tag}.json")
    with open(json_path + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(json_path + ".tmp", json_path)

    rows = results["loss_table"]
    points = results["mix_n_match"]
    cons = results["consistency"]
    spec_rows = results["speculative"]
    plot_losses(rows, os.path.join(out_dir, "reproduction-loss.png"))
    plot_mixes(points, os.path.join(out_dir, "reproduction-mixnmatch.png"))
    plot_consistency(cons["rows"], os.path.join(out_dir, "reproduction-consistency.png"))

    tokens = cfg["steps"] * cfg["batch"] * cfg["seq_len"]
    held = results["held_out"]
    t = results["timings"]
    md = []
    add = md.append
    add("# Reproducing MatFormer's claims at small scale\n")
    train_s = results.get("train_seconds", {})
    compile_s = results.get("compile_seconds", t.get("compile", 0))
    scratch = compile_s + sum(train_s.values()) + t.get("analysis", 0)
    add(f"Written by `bash bench/reproduce/run.sh` on {results['date']} (commit {cfg['commit']}): "
        f"{cfg['cpu']}, {cfg['threads']} threads, code generated for `{cfg['target']}`. "
        f"This run took **{minutes(results['total_seconds'])}**: set-up {t.get('setup', 0)} s, "
        f"compiling {t.get('compile', 0)} s, training {minutes(t.get('train', 0))}, "
        f"measurements {minutes(t.get('analysis', 0))}. A model already trained with the same settings "
        f"and program is reused, so from scratch the command takes about **{minutes(scratch)}** "
        f"(compiling the five programs {compile_s} s, training {minutes(sum(train_s.values()))} as measured "
        f"when each model was trained, measurements {minutes(t.get('analysis', 0))}). Every number below is "
        f"from the trained models and this run's measurements; the raw results are in "
        f"`{os.path.relpath(json_path)}`.\n")
    add("The claims checked are those of *MatFormer: Nested Transformer for Elastic Inference* "
        "(Kudugunta et al., arXiv 2310.07707), at a scale this 2-core machine trains in well under an "
        "hour. A model this small, trained this briefly, is far from the paper's 850M models trained on "
        "billions of tokens: the comparison is of the pattern, not of the values.\n")

    add("## Set-up\n")
    add(f"- **Model**: `{cfg['spec']}`, a Llama-style decoder over bytes: hidden {spec['hidden_size']}, "
        f"{spec['num_hidden_layers']} layers, {spec['num_attention_heads']} heads "
        f"({spec['num_key_value_heads']} KV), d_ff {spec['intermediate_size']}, tied embeddings, "
        f"{parameters(spec) / 1e6:.2f}M parameters at XL. Granularities (FFN widths) "
        + ", ".join(f"{r['granularity']} = {r['width']}" for r in rows) + ".")
    add(f"- **Data**: Debian's `fortunes` (all files, concatenated): the first 90% trains, the last 10% "
        f"({held['split_bytes']} bytes) is held out. Held-out losses are on its first {held['table_bytes']} "
        f"bytes, the Mix'n'Match sweep on its first {held['sweep_bytes']} bytes, in windows of "
        f"{cfg['seq_len']} bytes; loss is in nats per byte (ln 256 = 5.55 at random).")
    add(f"- **Training**: {cfg['steps']} AdamW steps of {cfg['batch']} x {cfg['seq_len']} bytes "
        f"({tokens / 1e6:.2f}M tokens per model), peak learning rate {cfg['lr']} after {cfg['warmup']} "
        f"warm-up steps, cosine decay to a tenth, seed {cfg['seed']}, with matc's compiled training "
        f"(`OUT train`).")
    add(f"  - **MatLM**: one universal model, `--sampling all`: every step trains the four granularities on "
        f"the same batch, loss = sum of the four losses (as MatFormer-OLMo does). "
        f"{minutes(train_s.get('universal', 0))}.")
    base_times = ", ".join(f"{n} {minutes(train_s.get('baseline-' + n, 0))}" for n in cfg['names'].split())
    add(f"  - **Baselines**: four models of the same architecture with d_ff = the granularity's width, "
        f"each trained alone for the same {cfg['steps']} steps on the same batches in the same order (the "
        f"same seed), so each baseline sees exactly the data and steps its granularity saw inside the "
        f"universal model (in the spirit of the paper's Appendix B.4). {base_times}.\n")

    add("## 1. Held-out loss per granularity\n")
    add("| granularity | width | MatLM | baseline | MatLM - baseline | paper 850M MatLM | paper baseline | paper difference |")
    add("|---|---|---|---|---|---|---|---|")
    for r in rows:
        pm, pb = PAPER_850M.get(r["granularity"], (None, None))
        paper = f"{pm:.3f} | {pb:.3f} | {pm - pb:+.3f}" if pm else "- | - | -"
        add(f"| {r['granularity']} | {r['width']} | {r['matlm']:.4f} | {r['baseline']:.4f} | "
            f"{r['matlm'] - r['baseline']:+.4f} | {paper} |")
    add("")
    smaller = rows[:-1]
    wins = [r["granularity"] for r in smaller if r["matlm"] < r["baseline"]]
    xl = rows[-1]
    gap = lambda r: (r["baseline"] - r["matlm"]) / r["baseline"] * 100
    add(f"![held-out loss per granularity](reproduction-loss.png)\n")
    verdict = []
    verdict.append(f"MatLM's smaller granularities beat their separately trained baselines at "
                   f"{len(wins)} of {len(smaller)} ({', '.join(wins) if wins else 'none'}); MatLM's loss differs from "
                   f"the baseline's by "
                   + ", ".join(f"{r['granularity']} {-gap(r):+.2f}%" for r in smaller))
    verdict.append(f"at XL it is {-gap(xl):+.2f}%")
    holds = len(wins) == len(smaller) and abs(gap(xl)) < max(abs(gap(r)) for r in smaller)
    add("**Does the paper's pattern hold?** " + "; ".join(verdict) + ". The paper's pattern (every smaller "
        "granularity better than its baseline, XL about equal) "
        + ("**holds here**." if holds else "**does not hold here**." if not wins else "**holds only in part here**.")
        + " In the paper the gain comes from the smaller submodels sharing, and being trained through, the "
        "larger ones' attention and first neurons; at XL the joint loss spends some of XL's updates on the "
        "smaller widths."
        + ("" if holds else " A likely reason it does not hold here, not tested: the budget. The paper trains "
           "850M models on tens of billions of tokens; here every model sees well under one epoch of a small "
           "corpus while its loss still falls steeply, and each shared weight's AdamW update is a compromise "
           "between four objectives, which slows every granularity early in training more than sharing helps.")
        + "\n")

    control = results.get("control_xl_only")
    check = results.get("program_check")
    if control is not None and check is not None:
        base_xl = rows[-1]["baseline"]
        spread = abs(control - base_xl)
        add(f"**Controls.** (a) *The program.* The universal (elastic) program and the XL baseline's "
            f"(static) program, started from one initialization and trained 1, 2 and 3 steps on the same "
            f"batches with the loss on XL alone, report training losses "
            + ", ".join(f"{x:.5f}" for x in check["universal"]) + " and "
            + ", ".join(f"{x:.5f}" for x in check["baseline"])
            + f" (largest difference {check['max_abs_difference']:.1e}): they compute the same training step. "
            f"(b) *Run-to-run spread.* The universal program trained on XL alone for the full run "
            f"(`--sampling 0,0,0,1`; {minutes(train_s.get('universal-xl-only', 0))}) sees other batches than the "
            f"baseline, because each step's granularity draw comes first from the seed's random stream; it reaches "
            f"{control:.4f} at XL against the baseline's {base_xl:.4f}. So the order of the batches alone moves "
            f"this loss by about {spread:.3f}. MatLM's differences from its baselines exceed that spread at "
            + (", ".join(r["granularity"] for r in rows if abs(r["matlm"] - r["baseline"]) > spread) or "no granularity")
            + (" and not at " + ", ".join(r["granularity"] for r in rows if abs(r["matlm"] - r["baseline"]) <= spread)
               if any(abs(r["matlm"] - r["baseline"]) <= spread for r in rows) else "")
            + "; a single seed per model cannot say more.\n")
    add("## 2. Mix'n'Match\n")
    interp = interpolated_uniform(points)
    by_kind = {}
    for p in points:
        by_kind.setdefault(p["kind"], []).append(p["loss"] - interp(p["flops_per_token"]))
    front = [p for p in points if p["pareto"]]
    add(f"{len(points)} mixes (one FFN width per layer) from the one universal checkpoint, all scored by one "
        f"elastic binary (`OUT eval --mix ...`, one run, no reload): every non-decreasing mix, "
        f"{sum(p['kind'] == 'decreasing' for p in points)} decreasing ones and "
        f"{sum(p['kind'] == 'random' for p in points)} random ones, drawn with seed 0. FLOPs per token count "
        f"the projections (2 x multiply-adds of q, k, v, o, the FFN at each layer's width, and the LM head).\n")
    add("![Mix'n'Match: held-out loss against FLOPs](reproduction-mixnmatch.png)\n")
    add("| kind | mixes | on the Pareto front | mean loss above (+) or below (-) the line through the uniform mixes |")
    add("|---|---|---|---|")
    for kind in KIND_STYLE:
        if kind in by_kind:
            on = sum(p["pareto"] for p in points if p["kind"] == kind)
            add(f"| {kind} | {len(by_kind[kind])} | {on} | {statistics_mean(by_kind[kind]):+.4f} |")
    add("")
    nd_front = sum(p["pareto"] and p["kind"] in ("uniform", "non-decreasing") for p in points)
    add(f"{nd_front} of the {len(front)} mixes on the Pareto front are uniform or non-decreasing. "
        + ("As in the paper, mixes whose widths grow with depth sit on or near the front, and the others mostly above it."
           if statistics_mean(by_kind.get("non-decreasing", [0])) <= min(statistics_mean(by_kind.get(k, [np.inf])) for k in ("decreasing", "random"))
           else "Unlike the paper, non-decreasing mixes are not better on average than the others here.")
        + " The mixes on the front:\n")
    add("| mix | MFLOPs per token | loss | kind |")
    add("|---|---|---|---|")
    for p in sorted(front, key=lambda p: p["flops_per_token"]):
        add(f"| {p['mix']} | {p['flops_per_token'] / 1e6:.3f} | {p['loss']:.4f} | {p['kind']} |")
    add("\nEvery mix, with its loss, is in the JSON results.\n")

    add("## 3. Consistency with XL\n")
    add(f"On {cons['windows']} held-out windows of {cons['window_len']} bytes: the KL divergence from XL's "
        f"next-byte distribution to the granularity's (teacher-forced, mean per position), the share of "
        f"positions with the same top-1 byte, and, generating greedily {cons['new_tokens']} bytes from the "
        f"first {cons['prompt_len']} of each window, the share of generated bytes identical to XL's at the "
        f"same position. MatLM's submodels are compared with MatLM's XL, each baseline with the XL baseline.\n")
    add("| granularity | KL to XL, MatLM | baseline | top-1 agreement, MatLM | baseline | greedy identical, MatLM | baseline |")
    add("|---|---|---|---|---|---|---|")
    by = {(r["family"], r["granularity"]): r for r in cons["rows"]}
    names = [r["granularity"] for r in cons["rows"] if r["family"] == "matlm"]
    for n in names:
        m, b = by["matlm", n], by["baseline", n]
        add(f"| {n} | {m['kl_to_xl']:.4f} | {b['kl_to_xl']:.4f} | {m['top1_agreement']:.3f} | "
            f"{b['top1_agreement']:.3f} | {m['greedy_identical']:.3f} | {b['greedy_identical']:.3f} |")
    more = [n for n in names if by["matlm", n]["kl_to_xl"] < by["baseline", n]["kl_to_xl"]]
    add(f"\n![consistency](reproduction-consistency.png)\n")
    add(f"MatLM's submodels are closer to their XL than the baselines are to theirs in KL at {len(more)} of "
        f"{len(names)} granularities" + (", as the paper reports." if len(more) == len(names) else ".") + "\n")

    add("## 4. Speculative decoding: S drafting for XL\n")
    add(f"Greedy speculative decoding (`generate --draft-mix S --draft-tokens K`) against plain greedy decoding "
        f"of XL, interleaved, on {spec_rows['prompts']} held-out prompts of {spec_rows['prompt_len']} bytes, "
        f"{spec_rows['new_tokens']} new bytes each; the speed-up is the ratio of summed decode times. The "
        f"universal pair runs both mixes over the one checkpoint, each with its own KV cache or, with "
        f"`--share-draft-cache`, with one: the draft skips its prefill and attends over XL's keys and values "
        f"of every accepted position, which nesting makes meaningful (S's attention is XL's). The baseline "
        f"pair runs the XL baseline with the S baseline as the draft (`--draft-weights`, its FFN zero-padded "
        f"to the universal shapes so the same elastic binary runs it at width S). The paper reports "
        f"{PAPER_SPECULATIVE}.\n")
    add("| pair | K | acceptance rate | decode speed-up | prefill + decode speed-up | runs whose tokens differ from plain greedy |")
    add("|---|---|---|---|---|---|")
    for r in spec_rows["rows"]:
        whole = f"{r['end_to_end_speedup']:.3f}x" if r.get("end_to_end_speedup") else "-"
        add(f"| {r['pair']} | {r['draft_tokens']} | {r['accept_rate']:.3f} | {r['speedup']:.3f}x | {whole} | "
            f"{r['outputs_differ']} |")
    add("\nIn every run the verifier's output is plain greedy decoding of XL (the last column): with a "
        "shared cache its verify call rewrites every row it attends over that the draft wrote. The decode "
        "speed-up leaves out the prefill; the prefill + decode column counts it, and with it the draft's "
        "own prefill of the prompt, which a shared cache saves. With a shared cache the draft's queries come from S's residual stream while the keys "
        "come from XL's, which changes its acceptance in either direction. Each speed-up is one run of "
        "16 prompts on a 2-core machine whose run-to-run spread is several percent.\n")
    text = "\n".join(md) + "\n"
    path = os.path.join(out_dir, "REPRODUCTION.md")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def statistics_mean(values):
    return float(np.mean(values)) if len(values) else float("nan")

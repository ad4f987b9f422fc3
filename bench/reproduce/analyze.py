#!/usr/bin/env python3
"""Measurements and report of bench/reproduce/run.sh (issue 13).

Reads the config run.sh writes (the trained universal model and baselines
under WORK), then measures with the compiled programs only (no model math
here: `eval`, `forward` and `generate` run matc's generated code; this script
compares their outputs):
  - held-out loss per granularity, MatLM against its baseline;
  - Mix'n'Match: held-out loss and FLOPs per token of many mixes from the one
    universal checkpoint with the one elastic binary, and their Pareto front;
  - consistency with XL: teacher-forced KL(XL || G) and top-1 agreement, and
    the share of identical greedy tokens in free generation;
  - speculative decoding, S drafting for XL: acceptance and measured decode
    speed-up for the universal pair and for the baseline pair.
Writes OUT_DIR/REPRODUCTION.md, OUT_DIR/reproduction-*.png and
RESULTS_DIR/reproduction-<cpu>.json.

usage: analyze.py WORK/config.json
"""
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The paper's Table (850M MatLM, held-out loss; arXiv 2310.07707): (MatLM, baseline).
PAPER_850M = {"S": (2.987, 3.017), "M": (2.934, 2.971),
              "L": (2.886, 2.910), "XL": (2.843, 2.840)}
PAPER_SPECULATIVE = "a 1.14x speed-up with MatLM's S drafting for its XL, and 1.16x when the draft's attention cache is shared with the verifier"


def log(msg):
    print(f"analyze: {msg}", file=sys.stderr, flush=True)


def run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"analyze: {what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return proc


class Study:
    def __init__(self, cfg):
        self.cfg = cfg
        self.work = cfg["work"]
        self.names = cfg["names"].split()
        self.seq_len = cfg["seq_len"]
        self.quick = bool(cfg["quick"])
        self.spec = json.load(open(cfg["spec"]))
        self.grans = self.spec["matformer"]["granularities"]
        self.layers = self.spec["num_hidden_layers"]
        self.tmp = os.path.join(self.work, "analysis")
        os.makedirs(self.tmp, exist_ok=True)
        self.results = {"config": {k: v for k, v in cfg.items() if k != "timings"}}

    # --- programs and files ---------------------------------------------------
    def binary(self, model):
        return os.path.join(self.work, "bin", model)

    def weights(self, model):
        return os.path.join(self.work, "ckpt", f"{model}.safetensors")

    def mix_text(self, levels):
        return ",".join(self.names[i] for i in levels)

    def canonical(self, levels):
        return ",".join(str(self.grans[i]) for i in levels)

    def uniform(self, i):
        return (i,) * self.layers

    def held_out(self):
        """The held-out split train never sees: bytes [floor(0.9 n), n)."""
        data = open(self.cfg["corpus"], "rb").read()
        n = len(data)
        val = data[n // 10 * 9 + n % 10 * 9 // 10:]
        table_bytes = 16384 if self.quick else 131072
        sweep_bytes = 8192 if self.quick else 32768
        self.table_file = os.path.join(self.tmp, "held-out-table.txt")
        self.sweep_file = os.path.join(self.tmp, "held-out-sweep.txt")
        open(self.table_file, "wb").write(val[:table_bytes])
        open(self.sweep_file, "wb").write(val[:sweep_bytes])
        self.val = val
        self.results["held_out"] = {"split_bytes": len(val), "table_bytes": min(table_bytes, len(val)),
                                    "sweep_bytes": min(sweep_bytes, len(val))}

    def eval_losses(self, model, weights, data, mixes):
        """Loss per canonical mix, from `eval` (matc's generated loss code)."""
        cmd = [self.binary(model), "eval", "--weights", weights, "--data", data,
               "--split", "all", "--seq-len", str(self.seq_len)]
        for m in mixes or []:
            cmd += ["--mix", m]
        out = run(cmd, f"eval of {model}").stdout
        losses = {}
        for line in out.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                losses[row["mix"]] = row["loss"]
        return losses

    # --- 2. held-out loss per granularity -----------------------------------------
    def loss_table(self):
        t0 = time.time()
        universal = self.eval_losses("universal", self.weights("universal"), self.table_file,
                                     [self.mix_text(self.uniform(i)) for i in range(len(self.names))])
        rows = []
        for i, name in enumerate(self.names):
            base = self.eval_losses(f"baseline-{name}", self.weights(f"baseline-{name}"), self.table_file, None)
            rows.append({"granularity": name, "width": self.grans[i],
                         "matlm": universal[self.canonical(self.uniform(i))],
                         "baseline": next(iter(base.values()))})
            log(f"held-out loss {name}: MatLM {rows[-1]['matlm']:.4f}, baseline {rows[-1]['baseline']:.4f}")
        self.results["loss_table"] = rows
        control = self.eval_losses("universal", self.weights("universal-xl-only"), self.table_file,
                                   [self.mix_text(self.uniform(len(self.names) - 1))])
        self.results["control_xl_only"] = next(iter(control.values()))
        log(f"held-out loss of the control (universal program, XL alone): {self.results['control_xl_only']:.4f}")
        self.results["program_check"] = self.program_check()
        self.results["loss_table_seconds"] = round(time.time() - t0, 1)

    def program_check(self):
        """Whether the universal program trains XL as the XL baseline's program
        does: three steps of each from one initialization on the same batches
        (`--sampling all` with loss weights on XL alone keeps the batches of a
        run without a granularity draw), their training losses compared."""
        init = os.path.join(self.tmp, "check-init.safetensors")
        run([self.matc(), "init", os.path.join(self.work, "specs", "universal.json"), "-o", init,
             "--seed", "0"], "matc init")
        weights = ",".join("1" if i == len(self.names) - 1 else "0" for i in range(len(self.names)))
        losses = {}
        for model, extra in (("universal", ["--loss-weights", weights]), (f"baseline-{self.names[-1]}", [])):
            steps = []
            for n in (1, 2, 3):
                out = run([self.binary(model), "train", "--data", self.cfg["corpus"], "--out",
                           os.path.join(self.tmp, f"check-{model}.safetensors"), "--init", init, "--steps", str(n),
                           "--schedule-steps", "3", "--warmup", "1", "--batch", "4", "--seq-len", str(self.seq_len),
                           "--lr", str(self.cfg["lr"]), "--seed", "0", "--save-every", "0", "--log-every", "1", *extra],
                          f"train of {model}").stdout
                row = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
                steps.append([v for v in row["train_loss"].values() if v is not None][-1])
            losses[model] = steps
        a, b = losses["universal"], losses[f"baseline-{self.names[-1]}"]
        diff = max(abs(x - y) for x, y in zip(a, b))
        log(f"program check: universal {a}, baseline {b}, largest difference {diff:.2e}")
        return {"universal": a, "baseline": b, "max_abs_difference": diff}

    # --- 3. Mix'n'Match ------------------------------------------------------------
    def flops_per_token(self, levels):
        """2 x the multiply-adds of every projection one token runs through
        (attention's q/k/v/o, the FFN at each layer's width, the LM head);
        attention's score and value products depend on the position and are
        left out, as are norms and activations."""
        s = self.spec
        h, heads, kv = s["hidden_size"], s["num_attention_heads"], s["num_key_value_heads"]
        d = s.get("head_dim", h // heads)
        attn = h * heads * d * 2 + h * kv * d * 2
        macs = sum(attn + 3 * h * self.grans[i] for i in levels) + s["vocab_size"] * h
        return 2 * macs

    def mixes(self):
        levels = range(len(self.names))
        every = list(itertools.product(levels, repeat=self.layers))
        nondecreasing = [m for m in every if all(a <= b for a, b in zip(m, m[1:]))]
        decreasing = [m for m in every if all(a >= b for a, b in zip(m, m[1:])) and m[0] > m[-1]]
        other = [m for m in every if m not in nondecreasing and m not in decreasing]
        rng = random.Random(0)
        if self.quick:
            nondecreasing = [m for m in nondecreasing if len(set(m)) == 1] + rng.sample(
                [m for m in nondecreasing if len(set(m)) > 1], 3)
            picked = {"non-decreasing": nondecreasing, "decreasing": rng.sample(decreasing, 2),
                      "random": rng.sample(other, 2)}
        else:
            picked = {"non-decreasing": nondecreasing,
                      "decreasing": rng.sample(decreasing, min(10, len(decreasing))),
                      "random": rng.sample(other, min(10, len(other)))}
        return picked

    def mix_n_match(self):
        t0 = time.time()
        picked = self.mixes()
        flat = [(kind, m) for kind, ms in picked.items() for m in ms]
        losses = self.eval_losses("universal", self.weights("universal"), self.sweep_file,
                                  [self.mix_text(m) for _, m in flat])
        points = []
        for kind, m in flat:
            if len(set(m)) == 1:
                kind = "uniform"
            points.append({"mix": self.mix_text(m), "kind": kind, "flops_per_token": self.flops_per_token(m),
                           "loss": losses[self.canonical(m)]})
        # Pareto front: no other mix has both fewer FLOPs and a lower loss.
        for p in points:
            p["pareto"] = not any(q["flops_per_token"] <= p["flops_per_token"] and q["loss"] < p["loss"]
                                  and (q["flops_per_token"], q["loss"]) != (p["flops_per_token"], p["loss"])
                                  for q in points)
        self.results["mix_n_match"] = points
        self.results["mix_n_match_seconds"] = round(time.time() - t0, 1)
        log(f"Mix'n'Match: {len(points)} mixes, {sum(p['pareto'] for p in points)} on the Pareto front")

    # --- 4. consistency --------------------------------------------------------------
    def windows(self, count, length):
        data = self.val[: self.results["held_out"]["table_bytes"]]
        step = (len(data) - length) // max(1, count - 1)
        return [list(data[i * step: i * step + length]) for i in range(count)]

    def family(self, kind, i):
        """(binary, weights, mix flags) of granularity i of MatLM or the baselines."""
        if kind == "matlm":
            return "universal", self.weights("universal"), ["--mix", self.mix_text(self.uniform(i))]
        name = self.names[i]
        return f"baseline-{name}", self.weights(f"baseline-{name}"), []

    def log_probs(self, kind, i, tokens, tag):
        model, weights, mix = self.family(kind, i)
        out = os.path.join(self.tmp, f"logits-{kind}-{i}-{tag}.npy")
        run([self.binary(model), "forward", "--weights", weights, *mix,
             "--tokens", ",".join(map(str, tokens)), "--output", out], f"forward of {model}")
        logits = np.load(out).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def greedy(self, kind, i, prompt, new_tokens):
        model, weights, mix = self.family(kind, i)
        out = run([self.binary(model), "generate", "--weights", weights, *mix, "--tokens",
                   ",".join(map(str, prompt)), "--max-new-tokens", str(new_tokens), "--print-tokens"],
                  f"generate of {model}").stdout
        return [int(t) for t in out.strip().split(",") if t]

    def consistency(self):
        t0 = time.time()
        count = 4 if self.quick else 16
        windows = self.windows(count, self.seq_len)
        prompt_len, new_tokens = 32, 64
        top = len(self.names) - 1
        table = []
        for kind in ("matlm", "baseline"):
            reference = [self.log_probs(kind, top, w, f"w{j}") for j, w in enumerate(windows)]
            generated_ref = [self.greedy(kind, top, w[:prompt_len], new_tokens) for w in windows]
            for i in range(top):
                kl, agree, same, total = [], [], 0, 0
                for j, w in enumerate(windows):
                    lp = self.log_probs(kind, i, w, f"w{j}")
                    ref = reference[j]
                    kl.append(float((np.exp(ref) * (ref - lp)).sum(axis=1).mean()))
                    agree.append(float((lp.argmax(axis=1) == ref.argmax(axis=1)).mean()))
                    gen = self.greedy(kind, i, w[:prompt_len], new_tokens)
                    same += sum(a == b for a, b in zip(gen, generated_ref[j]))
                    total += len(generated_ref[j])
                table.append({"family": kind, "granularity": self.names[i],
                              "kl_to_xl": statistics.fmean(kl), "top1_agreement": statistics.fmean(agree),
                              "greedy_identical": same / total})
                log(f"consistency {kind} {self.names[i]}: KL {table[-1]['kl_to_xl']:.4f}, "
                    f"greedy identical {table[-1]['greedy_identical']:.3f}")
        self.results["consistency"] = {"windows": count, "window_len": self.seq_len, "prompt_len": prompt_len,
                                       "new_tokens": new_tokens, "rows": table}
        self.results["consistency_seconds"] = round(time.time() - t0, 1)

    # --- 5. speculative decoding ------------------------------------------------------------
    def padded_weights(self, model):
        """`model`'s checkpoint with its FFN zero-padded to the universal
        shapes, so the universal elastic binary runs it at its own width
        (rows or columns past the mix's width are never read)."""
        from safetensors import safe_open
        from safetensors.numpy import load_file, save_file
        with safe_open(self.weights("universal"), "np") as universal:
            shapes = {name: universal.get_slice(name).get_shape() for name in universal.keys()}
        with safe_open(self.weights(model), "np") as f:
            metadata = f.metadata()
        padded = {}
        for name, array in load_file(self.weights(model)).items():
            assert array.dtype == np.float32, f"{model}: {name} is {array.dtype}, expected float32"
            padded[name] = np.zeros(shapes[name], dtype=np.float32)
            padded[name][tuple(slice(0, s) for s in array.shape)] = array
        path = os.path.join(self.tmp, f"{model}-padded.safetensors")
        save_file(padded, path + ".tmp", metadata=metadata)
        os.replace(path + ".tmp", path)
        return path

    def matc(self):
        if self.cfg.get("matc"):
            return self.cfg["matc"]
        folder = os.path.abspath(self.work)
        while not os.path.exists(os.path.join(folder, "bin", "matc")):
            if os.path.dirname(folder) == folder:
                sys.exit(f"analyze: no bin/matc above {self.work}")
            folder = os.path.dirname(folder)
        return os.path.join(folder, "bin", "matc")

    def inference_binary(self):
        """The universal spec compiled --elastic without --train by the
        current matc: speculative decoding is the runtime's, so it runs with
        the newest runtime even when the trained models were kept."""
        out = self.binary("universal-infer")
        matc = self.matc()
        if not (os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(matc)):
            log(f"compiling {out}")
            run([matc, "compile", os.path.join(self.work, "specs", "universal.json"), "--elastic",
                 "-o", out + ".tmp"], "matc compile")
            os.replace(out + ".tmp", out)
        return out

    def decode(self, weights, prompt, new_tokens, draft=None):
        """(tokens, prefill seconds, decode seconds, accepted, drafted) of one
        greedy generation, from `generate`'s summary line (its prefill
        counts the draft's prefill too, when the draft has one)."""
        cmd = [self.infer, "generate", "--weights", weights, "--mix", "XL", "--tokens",
               ",".join(map(str, prompt)), "--max-new-tokens", str(new_tokens), "--print-tokens"]
        if draft:
            cmd += ["--draft-mix", draft["mix"], "--draft-tokens", str(draft["k"])]
            if draft.get("weights"):
                cmd += ["--draft-weights", draft["weights"]]
            if draft.get("shared"):
                cmd += ["--share-draft-cache"]
        proc = run(cmd, "generate")
        tokens = [int(t) for t in proc.stdout.strip().split(",") if t]
        rate = float(re.search(r"decode ([0-9.]+) tok/s", proc.stderr).group(1))
        prefill_rate = float(re.search(r"prefill ([0-9.]+) tok/s", proc.stderr).group(1))
        accepted = drafted = 0
        m = re.search(r"accepted (\d+) of (\d+) drafted", proc.stderr)
        if m:
            accepted, drafted = int(m.group(1)), int(m.group(2))
        # Decode tok/s counts the tokens after the prefill's first one.
        decode_s = (len(tokens) - 1) / rate if rate > 0 else 0.0
        prefill_s = len(prompt) / prefill_rate if prefill_rate > 0 else 0.0
        return tokens, prefill_s, decode_s, accepted, drafted

    def speculative(self):
        t0 = time.time()
        self.infer = self.inference_binary()
        count = 4 if self.quick else 16
        new_tokens = 32 if self.quick else 128
        prompts = [w[:64] for w in self.windows(count, 64)]
        # (pair, main weights, draft weights, shared cache)
        pairs = [("MatLM", self.weights("universal"), None, False),
                 ("MatLM, shared cache", self.weights("universal"), None, True),
                 ("baseline", self.weights(f"baseline-{self.names[-1]}"),
                  self.padded_weights(f"baseline-{self.names[0]}"), False)]
        rows = []
        for family, main_weights, draft_weights, shared in pairs:
            for k in (2, 4):
                plain_s = spec_s = plain_prefill_s = spec_prefill_s = 0.0
                accepted = drafted = 0
                mismatched = 0
                for p in prompts:
                    # Interleaved, so drift in the machine's speed hits both.
                    tokens, prefill, seconds, _, _ = self.decode(main_weights, p, new_tokens)
                    draft = {"mix": self.names[0], "k": k, "weights": draft_weights, "shared": shared}
                    spec_tokens, spec_prefill, spec_seconds, a, d = self.decode(main_weights, p, new_tokens, draft)
                    plain_s += seconds
                    spec_s += spec_seconds
                    plain_prefill_s += prefill
                    spec_prefill_s += spec_prefill
                    accepted += a
                    drafted += d
                    mismatched += tokens != spec_tokens
                rows.append({"pair": family, "draft_tokens": k, "accept_rate": accepted / max(1, drafted),
                             "speedup": plain_s / spec_s if spec_s > 0 else None,
                             "end_to_end_speedup": (plain_prefill_s + plain_s) / (spec_prefill_s + spec_s)
                             if spec_s > 0 else None,
                             "plain_decode_s": plain_s, "speculative_decode_s": spec_s,
                             "plain_prefill_s": plain_prefill_s, "speculative_prefill_s": spec_prefill_s,
                             "outputs_differ": mismatched})
                log(f"speculative {family} K={k}: accepted {rows[-1]['accept_rate']:.3f}, "
                    f"speed-up {rows[-1]['speedup']:.3f}")
        self.results["speculative"] = {"prompts": count, "prompt_len": 64, "new_tokens": new_tokens, "rows": rows}
        self.results["speculative_seconds"] = round(time.time() - t0, 1)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    cfg = json.load(open(sys.argv[1]))
    study = Study(cfg)
    study.held_out()
    study.loss_table()
    study.mix_n_match()
    study.consistency()
    study.speculative()
    for name in study.names:
        for model in ("universal", "universal-xl-only", f"baseline-{name}"):
            path = os.path.join(cfg["work"], "logs", f"{model}.train-time.json")
            if os.path.exists(path) and model not in study.results.setdefault("train_seconds", {}):
                study.results["train_seconds"][model] = json.load(open(path))["seconds"]
    compile_log = os.path.join(cfg["work"], "logs", "compile-time.json")
    if os.path.exists(compile_log):
        study.results["compile_seconds"] = json.load(open(compile_log))["seconds"]
    study.results["timings"] = dict(cfg["timings"], analysis=round(time.time() - cfg["started"] - sum(cfg["timings"].values())))
    study.results["total_seconds"] = round(time.time() - cfg["started"])
    import report
    report.write(study.results, cfg)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()

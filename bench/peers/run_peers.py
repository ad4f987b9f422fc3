#!/usr/bin/env python3
"""The driver of bench/run-peers.sh (see there for the flags): in one run on
one spec and one set of random weights, measures the machine's peaks, then
for each mix matc static (`--mix`), matc elastic (`--elastic`, the mix at run
time) and each peer (bench_peers.py, one process per engine and mix), and
checks every engine's greedy tokens and prefill logits against matc's
(`generate`, `forward`). Writes JSON lines to --out: one `machine` line, then
one line per engine and mix."""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import model as mm  # noqa: E402
from bench_peers import benchmark_prompt  # noqa: E402

PEERS = ["torch-eager", "torch-compile", "onnxruntime", "llama.cpp"]
ENGINES = ["matc-static", "matc-elastic"] + PEERS


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def per_layer_mix(spec):
    """One per-layer mix: the granularity names XL, L, M, S in turn (or the
    granularities from the largest down when there are not 4)."""
    g = len(spec.granularities)
    names = ["XL", "L", "M", "S"] if g == 4 else [f"g{k}" for k in reversed(range(g))]
    return ",".join(names[i % len(names)] for i in range(spec.num_layers))


def cpu_model_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, **kw)


class Matc:
    def __init__(self, args, env):
        self.args = args
        self.env = env
        self.matc = os.path.join(args.build, "bin", "matc")
        self.work = args.workdir
        self.target = None  # e.g. "znver3, AVX2"

    def compile(self, out, flags):
        path = os.path.join(self.work, out)
        t0 = time.perf_counter()
        result = run([self.matc, "compile", self.args.spec, "-o", path] + flags, env=self.env)
        seconds = time.perf_counter() - t0
        m = re.search(r"\[exe, ([^,\]]+), ([^,\]]+),", result.stderr)
        if m:
            self.target = (m.group(1), m.group(2))
        return path, seconds

    def bench(self, program, mix):
        """Best prefill and decode over --repeats timed runs of `OUT bench
        --repeat`, in one process after its warm-up, as the peers are timed."""
        out = run([program, "bench", "--weights", self.args.weights, "--mix", mix,
                   "--prompt-len", str(self.args.prompt_len),
                   "--new-tokens", str(self.args.new_tokens),
                   "--repeat", str(self.args.repeats)], env=self.env).stdout
        return json.loads(out.strip().splitlines()[-1])

    def tokens(self, program, mix, prompt):
        out = run([program, "generate", "--weights", self.args.weights, "--mix", mix,
                   "--tokens", ",".join(map(str, prompt)),
                   "--max-new-tokens", str(self.args.new_tokens + 1), "--print-tokens"],
                  env=self.env).stdout
        return [int(t) for t in out.split()[0].split(",")]

    def last_logits(self, program, mix, prompt):
        with tempfile.TemporaryDirectory(dir=self.work) as tmp:
            path = os.path.join(tmp, "logits.npy")
            run([program, "forward", "--weights", self.args.weights, "--mix", mix,
                 "--tokens", ",".join(map(str, prompt)), "--output", path], env=self.env)
            return np.load(path)[-1]


def compare(reference_tokens, reference_logits, line):
    """Adds the agreement of `line`'s tokens and prefill logits with matc's."""
    tokens = line.get("tokens") or []
    first = next((i for i, (a, b) in enumerate(zip(reference_tokens, tokens)) if a != b),
                 None if len(tokens) == len(reference_tokens) else min(len(tokens),
                                                                      len(reference_tokens)))
    line["tokens_agree"] = first is None
    line["first_token_difference"] = first
    logits = line.pop("prefill_logits", None)
    if logits is not None and len(logits) == len(reference_logits):
        diff = float(np.abs(np.asarray(logits) - reference_logits).max())
        line["prefill_logits_max_abs_diff"] = diff
        line["prefill_logits_max_abs"] = float(np.abs(reference_logits).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--results-dir", required=True,
                    help="writes RESULTS_DIR/peers-<cpu>[-TAG].jsonl, <cpu> as matc compiles for it")
    ap.add_argument("--tag", default="")
    ap.add_argument("--prompt-len", type=int, default=512)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mixes", default="XL L M S per-layer",
                    help="space-separated MIXes; 'per-layer' is XL,L,M,S,... over the layers")
    ap.add_argument("--engines", default=" ".join(ENGINES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--llama-flash-attn", default="auto", choices=["auto", "on", "off"])
    args = ap.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    spec = mm.load_spec(args.spec)
    mixes = []
    for text in args.mixes.split():
        name = "per-layer" if text == "per-layer" else text
        mix = per_layer_mix(spec) if text == "per-layer" else text
        mixes.append((name, mix, mm.canonical_mix(mm.parse_mix(mix, spec))))
    engines = args.engines.split()
    for e in engines:
        if e not in ENGINES:
            sys.exit(f"run_peers.py: unknown engine '{e}' (expected {', '.join(ENGINES)})")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    prompt = benchmark_prompt(args.prompt_len, spec.vocab_size)

    matc = Matc(args, env)
    name = os.path.splitext(os.path.basename(args.spec))[0]
    # Every run starts from fresh weights, ONNX graphs and GGUFs (the peers
    # cache them per mix within the run only).
    args.weights = os.path.join(args.workdir, f"{name}-seed{args.seed}.safetensors")
    for folder in ("onnx", "gguf"):
        shutil.rmtree(os.path.join(args.workdir, folder), ignore_errors=True)
    log(f"matc init {args.spec} --seed {args.seed}")
    run([matc.matc, "init", args.spec, "-o", args.weights, "--seed", str(args.seed)])

    log("machine peaks (matc-machine-peak)")
    peak = json.loads(run([os.path.join(args.build, "bin", "matc-machine-peak")]).stdout
                      .strip().splitlines()[-1])
    lines = []
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    header = {"kind": "machine", "date": stamp, "cpu": cpu_model_name(),
              "spec": args.spec, "prompt_len": args.prompt_len, "new_tokens": args.new_tokens,
              "threads": args.threads, "repeats": args.repeats, "seed": args.seed,
              "llama_flash_attn": args.llama_flash_attn,
              "mixes": {n: c for n, _, c in mixes}, **peak}

    elastic = None
    if "matc-elastic" in engines:
        log("matc compile --elastic")
        elastic, elastic_s = matc.compile(f"{name}-elastic", ["--elastic"])
    # The reference of the agreement checks: the static binary's tokens and
    # logits when it runs, else the elastic one's.
    results = []
    for mix_name, mix, canon in mixes:
        reference = None
        static = None
        if "matc-static" in engines:
            log(f"matc compile --mix {mix_name}")
            static, static_s = matc.compile(f"{name}-{mix_name}", ["--mix", mix])
        ref_program = static or elastic
        ref_tokens = matc.tokens(ref_program, canon, prompt)
        ref_logits = matc.last_logits(ref_program, canon, prompt)
        for engine in engines:
            log(f"{engine} mix {mix_name}")
            t0 = time.perf_counter()
            try:
                if engine == "matc-static":
                    line = matc.bench(static, canon)
                    line["compile_s"] = static_s
                    line["tokens"] = ref_tokens
                elif engine == "matc-elastic":
                    line = matc.bench(elastic, canon)
                    line["compile_s"] = elastic_s
                    line["tokens"] = matc.tokens(elastic, canon, prompt)
                    line["prefill_logits"] = matc.last_logits(elastic, canon, prompt).tolist()
                else:
                    cmd = [sys.executable, os.path.join(HERE, "bench_peers.py"), "--engine", engine,
                           "--spec", args.spec, "--weights", args.weights, "--mix", canon,
                           "--prompt-len", str(args.prompt_len),
                           "--new-tokens", str(args.new_tokens), "--threads", str(args.threads),
                           "--repeats", str(args.repeats), "--workdir", args.workdir,
                           "--llama-bin", os.path.join(args.build, "bench-peers", "llama.cpp", "bin"),
                           "--llama-flash-attn", args.llama_flash_attn]
                    out = run(cmd, env=env).stdout
                    line = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
            except subprocess.CalledProcessError as e:
                log(f"{engine} mix {mix_name} FAILED (exit {e.returncode}):\n{e.stderr[-3000:]}")
                line = {"error": f"exit {e.returncode}: {e.stderr.strip().splitlines()[-1:]}"}
            line["engine"] = engine
            line["mix_name"] = mix_name
            line["mix"] = canon
            line["wall_s"] = time.perf_counter() - t0
            if "error" not in line:
                compare(ref_tokens, ref_logits, line)
                log(f"  prefill {line['prefill_tok_s']:.1f} tok/s, decode "
                    f"{line['decode_tok_s']:.1f} tok/s, tokens "
                    f"{'agree' if line['tokens_agree'] else 'DIFFER at %s' % line['first_token_difference']}"
                    + (f", prefill logits max |diff| {line['prefill_logits_max_abs_diff']:.1e}"
                       if "prefill_logits_max_abs_diff" in line else ""))
            line.pop("prefill_logits", None)
            results.append(line)
    # matc's cost model for every line of a mix (flops_per_token, weight_bytes).
    cost = {l["mix"]: l for l in results if l["engine"].startswith("matc") and "error" not in l}
    for line in results:
        c = cost.get(line["mix"])
        if c:
            line.setdefault("flops_per_token", c["flops_per_token"])
            line.setdefault("weight_bytes", c["weight_bytes"])
    if matc.target:
        header["target"] = list(matc.target)
    lines = [header] + results
    cpu = matc.target[0] if matc.target else re.sub(r"[^A-Za-z0-9]+", "-", header["cpu"]).strip("-")
    out = os.path.join(args.results_dir, f"peers-{cpu}{'-' + args.tag if args.tag else ''}.jsonl")
    os.makedirs(args.results_dir, exist_ok=True)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    os.replace(tmp, out)
    log(f"wrote {out}")
    print(out)
    bad = [l for l in results if "error" in l or not l.get("tokens_agree", False)]
    if bad:
        log(f"{len(bad)} engine runs failed or disagree with matc's greedy tokens")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The driver of bench/run-training.sh (see there for the flags): training
tokens/s and peak RSS of matc `train` against PyTorch eager and
torch.compile (train_torch.py), on one spec, one corpus and the same initial
weights, for `--sampling all` and one sampled recipe. Each run is one process
under `/usr/bin/time -v` (peak RSS = its maximum resident set size). Writes
JSON lines: one `machine` line, then one per engine and recipe."""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_peers import cpu_model_name, log  # noqa: E402

ENGINES = ["matc", "torch-eager", "torch-compile"]


def timed(cmd, env):
    """Runs cmd under /usr/bin/time -v; returns stdout, stderr (without
    time's report) and the peak RSS in bytes."""
    result = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    err = result.stderr
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {result.returncode}:\n{err[-3000:]}")
    return result.stdout, err, int(m.group(1)) * 1024 if m else None


def matc_train(args, program, sampling, env):
    """matc train with one progress line per step (--log-every 1). A step's
    time is the time between its progress line and the previous one, taken
    as the lines arrive (the line's own tok/s is rounded to an integer)."""
    out_path = os.path.join(args.workdir, f"trained-{sampling.replace(',', '_')}.safetensors")
    steps = args.warmup_steps + args.steps
    cmd = ["/usr/bin/time", "-v", program, "train", "--data", args.data, "--out", out_path,
           "--init", args.weights, "--steps", str(steps), "--batch", str(args.batch),
           "--seq-len", str(args.seq_len), "--lr", str(args.lr), "--sampling", sampling,
           "--log-every", "1", "--save-every", "0", "--seed", str(args.seed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, bufsize=1)
    arrivals, losses, stderr = {}, {}, []
    for line in proc.stderr:
        now = time.perf_counter()
        stderr.append(line)
        m = re.match(r"step (\d+)/\d+ \| \d+ tok/s \| loss (.*?) \| lr", line)
        if m:
            k = int(m.group(1))
            arrivals[k] = now
            parts = m.group(2).split()
            losses[k] = {parts[i]: (None if parts[i + 1] == "-" else float(parts[i + 1]))
                         for i in range(0, len(parts) - 1, 2)}
    proc.stdout.read()
    proc.wait()
    err = "".join(stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"matc train exited {proc.returncode}:\n{err[-3000:]}")
    if sorted(arrivals) != list(range(1, steps + 1)):
        raise RuntimeError(f"matc train printed {len(arrivals)} progress lines, expected "
                           f"{steps}:\n{err[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    timed_steps = list(range(args.warmup_steps + 1, steps + 1))
    step_s = [arrivals[k] - arrivals[k - 1] for k in timed_steps]
    tokens = args.batch * args.seq_len
    return {"tok_s": tokens * len(step_s) / sum(step_s), "step_s": step_s,
            "loss_first_timed_step": {k: v for k, v in losses[timed_steps[0]].items() if v is not None},
            "loss_last_timed_step": {k: v for k, v in losses[timed_steps[-1]].items() if v is not None},
            "peak_rss_bytes": int(rss.group(1)) * 1024 if rss else None}


def torch_train(args, compiled, sampling, env):
    cmd = [sys.executable, os.path.join(HERE, "train_torch.py"), "--spec", args.spec,
           "--data", args.data, "--init", args.weights, "--batch", str(args.batch),
           "--seq-len", str(args.seq_len), "--sampling", sampling,
           "--warmup-steps", str(args.warmup_steps), "--steps", str(args.steps),
           "--threads", str(args.threads), "--lr", str(args.lr), "--seed", str(args.seed)]
    if compiled:
        cmd.append("--compile")
    stdout, _, rss = timed(cmd, env)
    line = json.loads([l for l in stdout.splitlines() if l.startswith("{")][-1])
    line["peak_rss_bytes"] = rss
    return line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--results-dir", required=True)
    ap.add_argument("--tag", default="")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--warmup-steps", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sampled", default="0,0,0,1",
                    help="the sampled recipe's probabilities (default: always the largest)")
    ap.add_argument("--engines", default=" ".join(ENGINES))
    args = ap.parse_args()
    if args.warmup_steps < 1 or args.steps < 1:
        sys.exit("run_training.py: --warmup-steps and --steps must be at least 1 (a matc step's "
                 "time is measured from the previous step's progress line)")

    os.makedirs(args.workdir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    matc = os.path.join(args.build, "bin", "matc")
    name = os.path.splitext(os.path.basename(args.spec))[0]
    args.weights = os.path.join(args.workdir, f"{name}-seed{args.seed}.safetensors")
    if not os.path.exists(args.weights):
        subprocess.run([matc, "init", args.spec, "-o", args.weights, "--seed", str(args.seed)],
                       check=True)
    engines = args.engines.split()
    header = {"kind": "machine", "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "cpu": cpu_model_name(), "spec": args.spec, "data": args.data,
              "data_bytes": os.path.getsize(args.data), "batch": args.batch,
              "seq_len": args.seq_len, "warmup_steps": args.warmup_steps, "steps": args.steps,
              "threads": args.threads, "lr": args.lr, "seed": args.seed}
    program = None
    target = None
    if "matc" in engines:
        program = os.path.join(args.workdir, f"{name}-train")
        log(f"matc compile {args.spec} --train")
        t0 = time.perf_counter()
        result = subprocess.run([matc, "compile", args.spec, "--train", "-o", program],
                                check=True, capture_output=True, text=True)
        header["matc_compile_s"] = time.perf_counter() - t0
        m = re.search(r"\[exe, ([^,\]]+), ([^,\]]+),", result.stderr)
        if m:
            target = [m.group(1), m.group(2)]
            header["target"] = target
    rows = []
    for sampling in ("all", args.sampled):
        for engine in engines:
            log(f"{engine} --sampling {sampling}")
            t0 = time.perf_counter()
            try:
                if engine == "matc":
                    line = matc_train(args, program, sampling, env)
                else:
                    line = torch_train(args, engine == "torch-compile", sampling, env)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                log(f"{engine} --sampling {sampling} FAILED: {e}")
                line = {"error": str(e).strip().splitlines()[0][:200]}
            line["engine"] = engine
            line["sampling"] = sampling
            line["wall_s"] = time.perf_counter() - t0
            if "error" not in line:
                log(f"  {line['tok_s']:.0f} tok/s, peak RSS {line['peak_rss_bytes'] / 2**20:.0f} MiB, "
                    f"loss {line['loss_first_timed_step']} -> {line['loss_last_timed_step']}")
            rows.append(line)
    cpu = target[0] if target else re.sub(r"[^A-Za-z0-9]+", "-", header["cpu"]).strip("-")
    out = os.path.join(args.results_dir,
                       f"training-{cpu}{'-' + args.tag if args.tag else ''}.jsonl")
    os.makedirs(args.results_dir, exist_ok=True)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        for line in [header] + rows:
            f.write(json.dumps(line) + "\n")
    os.replace(tmp, out)
    log(f"wrote {out}")
    print(out)


if __name__ == "__main__":
    main()

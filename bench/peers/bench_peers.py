#!/usr/bin/env python3
"""Runs one engine on one mix and prints one JSON line: prefill and decode
tokens/s measured as matc's `bench` does (runtime/lib/Benchmark.cpp: one
warm-up run of a prefill and min(new, 4) decode steps, then timed runs; the
prefill's time ends when its logits exist, each decode step's includes the
argmax), and the greedy tokens (the prefill's token and one per decode step)
for the agreement check. Each engine runs in its own process (bench/run-peers.sh
calls this once per engine and mix), so no two engines' thread pools meet.

Engines: torch-eager, torch-compile, onnxruntime (model.py's Submodel, the
ONNX graphs exported from it), llama.cpp (a GGUF written by gguf_export.py,
timed by llama-bench: prefill from an empty context, decode at depth = the
prompt length, `-d`, f16 KV cache (llama-bench takes no f32 cache); the tokens
and logits from llama-greedy with the same cache type and flash attention).

usage: bench_peers.py --engine E --spec SPEC --weights W --mix MIX
       [--prompt-len 512] [--new-tokens 32] [--threads 2] [--repeats 3]
       --workdir DIR [--llama-bin DIR]
"""
import argparse
import contextlib
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import model as mm  # noqa: E402

WARM_UP_DECODE_STEPS = 4
# The prefill's last-row logits of the last timed run (for the numeric check
# against matc's `forward`).
last_prefill_logits = []


def benchmark_prompt(length, vocab):
    """matc's bench prompt (runtime/lib/Benchmark.cpp: benchmarkPrompt)."""
    return [(i * 7919 + 13) % vocab for i in range(length)]


def time_loop(prefill, decode, argmax, prompt, new_tokens, repeats):
    """prefill(prompt) -> logits; decode(token, pos) -> logits. Returns the
    best prefill and decode times over `repeats` timed runs, and the tokens
    of the last one; `last_prefill_logits` gets that run's prefill logits."""
    def run(steps):
        t0 = time.perf_counter()
        logits = prefill(prompt)
        prefill_s = time.perf_counter() - t0
        last_prefill_logits[:] = [float(x) for x in np.asarray(logits).reshape(-1)]
        tokens = [argmax(logits)]
        t0 = time.perf_counter()
        for i in range(steps):
            tokens.append(argmax(decode(tokens[-1], len(prompt) + i)))
        return prefill_s, time.perf_counter() - t0, tokens

    t0 = time.perf_counter()
    run(min(new_tokens, WARM_UP_DECODE_STEPS))
    warm_up_s = time.perf_counter() - t0
    best_prefill = best_decode = float("inf")
    tokens = []
    for _ in range(repeats):
        p, d, tokens = run(new_tokens)
        best_prefill, best_decode = min(best_prefill, p), min(best_decode, d)
    return best_prefill, best_decode, tokens, warm_up_s


def run_torch(args, spec, weights, widths, prompt, compiled):
    import torch
    mm.set_threads(args.threads)
    cache_len = len(prompt) + args.new_tokens + 1
    model = mm.Submodel(spec, weights, widths, cache_len).eval()
    prefill_fn, decode_fn = model.prefill, model.decode
    if compiled:
        prefill_fn = torch.compile(model.prefill, dynamic=False)
        decode_fn = torch.compile(model.decode, dynamic=False)
    k_cache, v_cache = model.empty_cache()

    def prefill(tokens):
        logits, k, v = prefill_fn(torch.tensor([tokens]))
        k_cache[:, :, :len(tokens)] = k
        v_cache[:, :, :len(tokens)] = v
        return logits

    def decode(token, pos):
        logits, k, v = decode_fn(torch.tensor([[token]]), torch.tensor(pos), k_cache, v_cache)
        k_cache[:, :, pos:pos + 1] = k
        v_cache[:, :, pos:pos + 1] = v
        return logits

    with torch.inference_mode():
        result = time_loop(prefill, decode, lambda l: int(torch.argmax(l[0])), prompt,
                           args.new_tokens, args.repeats)
    return result, {"torch": torch.__version__}



def run_onnxruntime(args, spec, weights, widths, prompt):
    import onnxruntime as ort
    import torch
    mm.set_threads(args.threads)
    cache_len = len(prompt) + args.new_tokens + 1
    model = mm.Submodel(spec, weights, widths, cache_len).eval()
    folder = os.path.join(args.workdir, "onnx", mm.canonical_mix(widths).replace(",", "_")
                          + f"-p{len(prompt)}-c{cache_len}")
    os.makedirs(folder, exist_ok=True)

    class Prefill(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, tokens):
            return self.m.prefill(tokens)

    class Decode(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, token, pos, k_cache, v_cache):
            return self.m.decode(token, pos, k_cache, v_cache)

    k0, v0 = model.empty_cache()
    graphs = {
        "prefill": (Prefill(), (torch.tensor([prompt]),), ["tokens"], ["logits", "k", "v"]),
        "decode": (Decode(), (torch.tensor([[0]]), torch.tensor(len(prompt)), k0, v0),
                   ["token", "pos", "k_cache", "v_cache"], ["logits", "k_new", "v_new"]),
    }
    export_s = 0.0
    sessions = {}
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    for name, (module, inputs, in_names, out_names) in graphs.items():
        path = os.path.join(folder, name + ".onnx")
        if not os.path.exists(path):
            t0 = time.perf_counter()
            # The exporter prints its progress on stdout, which carries the
            # JSON line.
            with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
                program = torch.onnx.export(module, inputs, dynamo=True, input_names=in_names,
                                            output_names=out_names)
            tmp = os.path.join(folder, f"{name}.tmp{os.getpid()}.onnx")
            program.save(tmp, external_data=True)
            # The external data file keeps the name it was written under.
            os.replace(tmp, path)
            export_s += time.perf_counter() - t0
        sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    shape = k0.shape
    k_cache = np.zeros(shape, dtype=np.float32)
    v_cache = np.zeros(shape, dtype=np.float32)

    def prefill(tokens):
        logits, k, v = sessions["prefill"].run(None, {"tokens": np.array([tokens], dtype=np.int64)})
        k_cache[:, :, :len(tokens)] = k
        v_cache[:, :, :len(tokens)] = v
        return logits

    def decode(token, pos):
        logits, k, v = sessions["decode"].run(None, {
            "token": np.array([[token]], dtype=np.int64), "pos": np.array(pos, dtype=np.int64),
            "k_cache": k_cache, "v_cache": v_cache})
        k_cache[:, :, pos:pos + 1] = k
        v_cache[:, :, pos:pos + 1] = v
        return logits

    result = time_loop(prefill, decode, lambda l: int(np.argmax(l[0])), prompt,
                       args.new_tokens, args.repeats)
    return result, {"onnxruntime": ort.__version__, "torch": torch.__version__,
                    "export_s": export_s}


def llama_bench(binary, gguf, threads, repeats, flash_attn, extra):
    """One llama-bench test; returns its best tokens/s (llama-bench runs one
    warm-up of its own first)."""
    # The KV cache is llama-bench's default, f16: this llama-bench accepts
    # no f32 cache type (-ctk f16, bf16 or quantized types only).
    cmd = [binary, "-m", gguf, "-t", str(threads), "-r", str(repeats), "-ctk", "f16", "-ctv",
           "f16", "-fa", flash_attn, "-o", "jsonl"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]
    if len(lines) != 1:
        raise RuntimeError(f"llama-bench printed {len(lines)} results: {out}")
    line = lines[0]
    return max(line["samples_ts"]), line


def run_llama(args, spec, weights, widths, prompt):
    import gguf_export
    folder = os.path.join(args.workdir, "gguf")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, mm.canonical_mix(widths).replace(",", "_") + ".gguf")
    context = len(prompt) + args.new_tokens + 16
    export_s = 0.0
    if not os.path.exists(path):
        t0 = time.perf_counter()
        tmp = f"{path}.tmp{os.getpid()}"
        arch = gguf_export.write_gguf(spec, weights, widths, tmp, context)
        os.replace(tmp, path)
        export_s = time.perf_counter() - t0
    bench = os.path.join(args.llama_bin, "llama-bench")
    p, n = len(prompt), args.new_tokens
    fa = args.llama_flash_attn
    prefill_ts, prefill_line = llama_bench(bench, path, args.threads, args.repeats, fa,
                                           ["-p", str(p), "-n", "0"])
    decode_ts, decode_line = llama_bench(bench, path, args.threads, args.repeats, fa,
                                         ["-p", "0", "-n", str(n), "-d", str(p)])
    greedy = subprocess.run(
        [os.path.join(args.llama_bin, "llama-greedy"), path, str(args.threads),
         ",".join(map(str, prompt)), str(n), fa, "f16"], check=True, capture_output=True,
        text=True)
    token_line, logits_line = greedy.stdout.strip().splitlines()[:2]
    tokens = [int(t) for t in token_line.split(",")]
    logits = [float(x) for x in logits_line.split(",")]
    import gguf
    extra = {"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "",
             "llama_cpp_build": prefill_line.get("build_commit", ""),
             "flash_attn": decode_line.get("flash_attn"), "export_s": export_s,
             "gguf_arch": "llama" if len(set(w for w in widths if w is not None)) == 1
             and all(w for w in widths if w is not None) else "deci",
             "prefill_logits": logits}
    return (p / prefill_ts, n / decode_ts, tokens, 0.0), extra


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", required=True,
                    choices=["torch-eager", "torch-compile", "onnxruntime", "llama.cpp"])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--mix", required=True)
    ap.add_argument("--prompt-len", type=int, default=512)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--llama-bin")
    ap.add_argument("--llama-flash-attn", default="auto", choices=["auto", "on", "off"],
                    help="llama.cpp's flash attention (-fa); on the CPU it computes in lower "
                         "precision")
    args = ap.parse_args()

    spec = mm.load_spec(args.spec)
    widths = mm.parse_mix(args.mix, spec)
    weights = mm.load_checkpoint(args.weights)
    prompt = benchmark_prompt(args.prompt_len, spec.vocab_size)
    t0 = time.perf_counter()
    if args.engine in ("torch-eager", "torch-compile"):
        result, extra = run_torch(args, spec, weights, widths, prompt,
                                  args.engine == "torch-compile")
    elif args.engine == "onnxruntime":
        result, extra = run_onnxruntime(args, spec, weights, widths, prompt)
    else:
        result, extra = run_llama(args, spec, weights, widths, prompt)
    prefill_s, decode_s, tokens, warm_up_s = result
    line = {
        "engine": args.engine, "mix": mm.canonical_mix(widths),
        "prompt_len": args.prompt_len, "new_tokens": args.new_tokens, "threads": args.threads,
        "prefill_tok_s": args.prompt_len / prefill_s,
        "decode_tok_s": args.new_tokens / decode_s if args.new_tokens else 0.0,
        "prefill_s": prefill_s, "decode_s": decode_s, "warm_up_s": warm_up_s,
        "total_s": time.perf_counter() - t0, "tokens": tokens,
    }
    line["prefill_logits"] = last_prefill_logits
    line.update(extra)
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks a compiled program's KV-cache decoding against full forwards.

  kv_check.py EXE WEIGHTS PROMPT GENERATED WORKDIR [--min-distinct N]

PROMPT and GENERATED are comma-separated token ids, or @FILE holding them.
GENERATED is what `EXE generate --temperature 0 --print-tokens` printed for
PROMPT (prefill once, then one cached decode step per token). For each step i
this runs `EXE forward` (no cache: all tokens at once from position 0) on
PROMPT + GENERATED[:i], reads the float32 .npy itself (standard library only,
no NumPy) and takes the argmax of the last row, the lowest id on ties. Step i
passes when that argmax is GENERATED[i], or when GENERATED[i]'s logit is
within 1e-4 * max|logit| of the maximum (the rule `matc-reference greedy`
uses: two f32 evaluation orders may flip a near-tie). --min-distinct N also
fails when GENERATED holds fewer than N distinct tokens (a sequence that
repeats one token would not show a stale or misplaced cache entry). Prints
one line per step and PASS, or FAIL and exits 1.
"""
import array
import ast
import os
import subprocess
import sys

NEAR_TIE = 1e-4


def read_ids(arg):
    if arg.startswith("@"):
        with open(arg[1:]) as f:
            arg = f.read()
    return [int(t) for t in arg.strip().split(",")]


def read_npy(path):
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:6] != b"\x93NUMPY":
        sys.exit(path + ": not a .npy file")
    major = blob[6]
    if major == 1:
        n, start = int.from_bytes(blob[8:10], "little"), 10
    elif major == 2:
        n, start = int.from_bytes(blob[8:12], "little"), 12
    else:
        sys.exit(path + ": unsupported .npy version %d" % major)
    header = ast.literal_eval(blob[start:start + n].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(path + ": expected C-order '<f4', got %r" % header)
    shape = header["shape"]
    if len(shape) != 2:
        sys.exit(path + ": expected a 2-D array, got shape %r" % (shape,))
    values = array.array("f")
    values.frombytes(blob[start + n:])
    if len(values) != shape[0] * shape[1]:
        sys.exit(path + ": %d values for shape %r" % (len(values), shape))
    return shape, values


def main():
    args = sys.argv[1:]
    min_distinct = 0
    if "--min-distinct" in args:
        i = args.index("--min-distinct")
        min_distinct = int(args[i + 1])
        del args[i:i + 2]
    exe, weights, prompt_arg, generated_arg, workdir = args
    prompt = read_ids(prompt_arg)
    generated = read_ids(generated_arg)
    out = os.path.join(workdir, "kv_check_step.npy")
    failures = 0
    for i, token in enumerate(generated):
        tokens = prompt + generated[:i]
        if os.path.exists(out):
            os.remove(out)
        subprocess.run([exe, "forward", "--weights", weights, "--tokens",
                        ",".join(map(str, tokens)), "--output", out],
                       check=True, stderr=subprocess.DEVNULL)
        (rows, vocab), values = read_npy(out)
        if rows != len(tokens):
            sys.exit("step %d: forward wrote %d rows for %d tokens"
                     % (i, rows, len(tokens)))
        last = values[(rows - 1) * vocab:rows * vocab]
        best = max(range(vocab), key=lambda v: (last[v], -v))
        margin = last[best] - last[token]
        allowed = NEAR_TIE * max(abs(v) for v in last)
        if token == best:
            verdict = "ok"
        elif margin <= allowed:
            verdict = "ok (near-tie)"
        else:
            verdict = "MISMATCH"
            failures += 1
        print("step %d: cached %d, full-forward argmax %d, margin %.3e: %s"
              % (i, token, best, margin, verdict))
    distinct = len(set(generated))
    if distinct < min_distinct:
        print("FAIL: only %d distinct tokens generated, expected at least %d"
              % (distinct, min_distinct))
        sys.exit(1)
    if failures:
        print("FAIL: %d of %d steps differ from the full forward"
              % (failures, len(generated)))
        sys.exit(1)
    print("PASS: %d steps" % len(generated))


if __name__ == "__main__":
    main()

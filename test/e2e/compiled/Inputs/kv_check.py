#!/usr/bin/env python3
"""Checks a compiled program's KV-cache decoding against full forwards.

  kv_check.py EXE WEIGHTS PROMPT_IDS GENERATED_IDS WORKDIR [--mix MIX]

GENERATED_IDS is what `EXE generate --temperature 0 --print-tokens` printed
for PROMPT_IDS (prefill once, then one cached decode step per token). For each
step i this runs `EXE forward` (no cache: all tokens at position 0) on
PROMPT + GENERATED[:i], reads the float32 .npy itself (standard library only,
no NumPy) and takes the argmax of the last row, the lowest id on ties. Step i
passes when that argmax is GENERATED[i], or when GENERATED[i]'s logit is
within 1e-4 * max|logit| of the maximum (the rule `matc-reference greedy`
uses: two f32 evaluation orders may flip a near-tie). Prints one line per
step and PASS, or FAIL and exits 1.
"""
import array
import ast
import os
import subprocess
import sys

NEAR_TIE = 1e-4


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
    mix = []
    if "--mix" in args:
        i = args.index("--mix")
        mix = ["--mix", args[i + 1]]
        del args[i:i + 2]
    exe, weights, prompt_text, generated_text, workdir = args
    prompt = [int(t) for t in prompt_text.split(",")]
    generated = [int(t) for t in generated_text.strip().split(",")]
    out = os.path.join(workdir, "kv_check_step.npy")
    failures = 0
    for i, token in enumerate(generated):
        tokens = prompt + generated[:i]
        if os.path.exists(out):
            os.remove(out)
        subprocess.run([exe, "forward", "--weights", weights, "--tokens",
                        ",".join(map(str, tokens)), "--output", out] + mix,
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
    if failures:
        print("FAIL: %d of %d steps differ from the full forward"
              % (failures, len(generated)))
        sys.exit(1)
    print("PASS: %d steps" % len(generated))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compares two float32 logits .npy files (standard library only).

  compare_logits.py REFERENCE.npy CANDIDATE.npy --tolerance T [--label L]

Prints the relative error ||candidate - reference|| / ||reference|| and the
largest absolute difference, then PASS, or FAIL and exit 1 when the relative
error exceeds T, the shapes differ or a value is not finite.
"""
import argparse
import array
import ast
import math
import sys


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"error: {path}: not a .npy file")
    major = data[6]
    if major == 1:
        size, start = int.from_bytes(data[8:10], "little"), 10
    else:
        size, start = int.from_bytes(data[8:12], "little"), 12
    header = ast.literal_eval(data[start:start + size].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(f"error: {path}: expected C-order '<f4', got {header}")
    values = array.array("f")
    values.frombytes(data[start + size:])
    return tuple(header["shape"]), values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("candidate")
    parser.add_argument("--tolerance", type=float, required=True)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    ref_shape, ref = read_npy(args.reference)
    got_shape, got = read_npy(args.candidate)
    label = f"{args.label}: " if args.label else ""
    if ref_shape != got_shape:
        print(f"{label}FAIL: shape {got_shape} differs from {ref_shape}")
        return 1
    diff2 = ref2 = worst = 0.0
    for r, g in zip(ref, got):
        if not math.isfinite(g):
            print(f"{label}FAIL: non-finite value in {args.candidate}")
            return 1
        diff2 += (g - r) ** 2
        ref2 += r * r
        worst = max(worst, abs(g - r))
    rel = math.sqrt(diff2 / ref2) if ref2 > 0 else math.sqrt(diff2)
    verdict = "PASS" if rel <= args.tolerance else "FAIL"
    print(f"{label}relative error {rel:.3e} (tolerance {args.tolerance:g}), "
          f"max abs {worst:.3e}: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())

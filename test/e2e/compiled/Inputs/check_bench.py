#!/usr/bin/env python3
"""Checks the JSON line of a compiled program's `bench`.

  check_bench.py FILE --prompt-len N --new-tokens N [--smaller-than OTHER]

FILE must hold exactly one line, a JSON object with the keys of `bench` in
docs/REFERENCE.md, Command line (mix, prompt_len, new_tokens, prefill_tok_s,
decode_tok_s, flops_per_token, weight_bytes), prompt_len and new_tokens as
requested, the rates and the counts positive finite numbers, and the rates
consistent with the timings the runtime also prints (prefill_tok_s *
prefill_s = prompt_len, decode_tok_s * decode_s = new_tokens, within 1e-4
for the printed digits).
--smaller-than OTHER: this run's flops_per_token and weight_bytes are both
below OTHER's (another bench line, e.g. of a larger mix). Speeds are not
judged beyond > 0. Prints OK, or the first problem and exits 1.
"""
import json
import math
import sys

REQUIRED = ["mix", "prompt_len", "new_tokens", "prefill_tok_s",
            "decode_tok_s", "flops_per_token", "weight_bytes"]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def load(path):
    with open(path) as f:
        lines = f.read().splitlines()
    if len(lines) != 1:
        fail("%s: expected one line, got %d" % (path, len(lines)))
    try:
        record = json.loads(lines[0])
    except ValueError as e:
        fail("%s: not JSON: %s" % (path, e))
    if not isinstance(record, dict):
        fail("%s: not a JSON object" % path)
    return record


def positive(record, key):
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail("%s is %r, not a number" % (key, value))
    if not math.isfinite(value) or value <= 0:
        fail("%s is %r, expected a positive finite number" % (key, value))
    return value


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    options = dict(zip(args[::2], args[1::2]))
    record = load(path)
    for key in REQUIRED:
        if key not in record:
            fail("missing key " + key)
    if not isinstance(record["mix"], str) or not record["mix"]:
        fail("mix is %r, expected a non-empty string" % (record["mix"],))
    for key in ("prompt_len", "new_tokens", "flops_per_token", "weight_bytes"):
        if not isinstance(record[key], int) or isinstance(record[key], bool):
            fail("%s is %r, expected an integer" % (key, record[key]))
    for key in ("prompt_len", "new_tokens"):
        flag = "--" + key.replace("_", "-")
        if record[key] != int(options[flag]):
            fail("%s is %r, expected %s" % (key, record[key], options[flag]))
    for key in ("prefill_tok_s", "decode_tok_s", "flops_per_token",
                "weight_bytes", "prefill_s", "decode_s"):
        positive(record, key)
    for rate, seconds, count in (("prefill_tok_s", "prefill_s", "prompt_len"),
                                 ("decode_tok_s", "decode_s", "new_tokens")):
        product = record[rate] * record[seconds]
        if abs(product - record[count]) > 1e-4 * record[count]:
            fail("%s * %s = %r, expected %s = %r"
                 % (rate, seconds, product, count, record[count]))
    if "--smaller-than" in options:
        other = load(options["--smaller-than"])
        for key in ("flops_per_token", "weight_bytes"):
            if not record[key] < other[key]:
                fail("%s %r (mix %s) is not below %r (mix %s)"
                     % (key, record[key], record["mix"], other[key],
                        other["mix"]))
    print("OK")


if __name__ == "__main__":
    main()

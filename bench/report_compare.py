"""Table of bench/compare-builds.sh output: compile time, and the median
prefill and decode speed of each build and mix, with after/before ratios."""
import json
import statistics
import sys

lines = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
header = lines[0]
print(f"CPU: {header['cpu']} ({header['cores']} cores), spec {header['spec']}, "
      f"prompt {header.get('prompt_len', '?')}, {header.get('new_tokens', '?')} new tokens")
compile_s, runs, mixes = {}, {}, []
for line in lines[1:]:
    key = (line["build"], line["mix"])
    if line["mix"] not in mixes:
        mixes.append(line["mix"])
    if "compile_s" in line:
        compile_s[key] = line["compile_s"]
    else:
        runs.setdefault(key, []).append(line["bench"])
print("| mix | compile s, before | after | prefill tok/s, before | after | after/before "
      "| decode tok/s, before | after | after/before |")
print("|---|---|---|---|---|---|---|---|---|")
for mix in mixes:
    row = [mix, f"{compile_s[('before', mix)]:.1f}", f"{compile_s[('after', mix)]:.1f}"]
    for metric in ("prefill_tok_s", "decode_tok_s"):
        before = statistics.median(r[metric] for r in runs[("before", mix)])
        after = statistics.median(r[metric] for r in runs[("after", mix)])
        row += [f"{before:.1f}", f"{after:.1f}", f"{after / before:.2f}"]
    print("| " + " | ".join(row) + " |")

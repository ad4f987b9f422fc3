"""Checks eval's JSON lines: every loss within [low, high] and ppl = exp(loss)."""
import json
import math
import sys

path, low, high = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rows = [json.loads(line) for line in open(path) if line.startswith("{")]
if not rows:
    sys.exit("no JSON lines")
for row in rows:
    if not low <= row["loss"] <= high:
        sys.exit(f"{row['mix']}: loss {row['loss']} outside [{low}, {high}]")
    if abs(row["ppl"] - math.exp(row["loss"])) > 1e-6 * row["ppl"]:
        sys.exit(f"{row['mix']}: ppl {row['ppl']} != exp(loss)")
    if row["tokens"] <= 0:
        sys.exit(f"{row['mix']}: no tokens")
print(f"ok: {len(rows)} mixes")

"""Checks train's JSON lines: the held-out loss of every granularity falls
from the first evaluation to the last and ends below BOUND; given eval's
output too, its S and XL losses equal train's last held-out ones."""
import json
import math
import sys

path, bound = sys.argv[1], float(sys.argv[2])
rows = [json.loads(line) for line in open(path) if line.startswith("{")]
evals = [row for row in rows if row.get("split") == "heldout"]
if len(evals) < 2:
    sys.exit(f"expected at least 2 held-out evaluations, got {len(evals)}")
first, last = evals[0]["loss"], evals[-1]["loss"]
if sorted(first) != ["L", "M", "S", "XL"]:
    sys.exit(f"granularities {sorted(first)}")
for name, loss in last.items():
    if not loss < first[name]:
        sys.exit(f"{name}: held-out loss did not fall ({first[name]} -> {loss})")
    if not loss < bound:
        sys.exit(f"{name}: held-out loss {loss} is not below {bound}")
    if not loss > 0:
        sys.exit(f"{name}: held-out loss {loss}")
summary = rows[-1]
if "train_loss" not in summary or summary["step"] != evals[-1]["step"]:
    sys.exit(f"no summary line at step {evals[-1]['step']}")
if len(sys.argv) > 3:
    # eval scores the same held-out split with the same generated loss.
    scored = {row["mix"]: row["loss"] for row in
              (json.loads(line) for line in open(sys.argv[3])
               if line.startswith("{"))}
    for mix, name in (("32,32,32,32", "S"), ("256,256,256,256", "XL")):
        if not math.isclose(scored[mix], last[name], rel_tol=1e-6):
            sys.exit(f"eval {mix}: {scored[mix]} != train's {name} {last[name]}")
print(f"ok: {len(evals)} evaluations, last {last}")

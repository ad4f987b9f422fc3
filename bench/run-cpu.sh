#!/usr/bin/env bash
# CPU benchmark of the ~25M-parameter example: XL vs S, each speed next to the
# machine's measured single-core peaks (FMA GFLOP/s for prefill, read GB/s for
# decode) from the same run. Prints JSON lines and a table; not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
ninja -C build matc-machine-peak >/dev/null

out=out/bench
mkdir -p "$out"
spec=examples/specs/matlm-25m.json
build/bin/matc init "$spec" -o "$out/matlm-25m.safetensors" --seed 0
peak=$(build/bin/matc-machine-peak)
echo "$peak" | tee "$out/machine-peak.json"
for mix in XL S; do
  build/bin/matc compile "$spec" --mix "$mix" -o "$out/matlm-25m-$mix" 2>/dev/null
  # Best of three runs: the first also warms the page cache.
  for run in 1 2 3; do
    "$out/matlm-25m-$mix" bench --weights "$out/matlm-25m.safetensors" \
      --prompt-len 128 --new-tokens 128
  done | tee "$out/bench-$mix.jsonl"
done
python3 bench/report_cpu.py "$out/machine-peak.json" "$out/bench-XL.jsonl" "$out/bench-S.jsonl"

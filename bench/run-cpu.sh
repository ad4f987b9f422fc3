#!/usr/bin/env bash
# CPU benchmark of the ~25M-parameter example: XL vs S, with f32 and bf16
# weights, each speed next to the machine's peaks measured in the same run
# (FMA GFLOP/s for prefill, read GB/s for decode). Prints JSON lines and
# tables; not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
ninja -C build matc-machine-peak >/dev/null

out=out/bench
mkdir -p "$out"
spec=examples/specs/matlm-25m.json
peak=$(build/bin/matc-machine-peak)
echo "$peak" | tee "$out/machine-peak.json"
for dtype in f32 bf16; do
  build/bin/matc init "$spec" -o "$out/matlm-25m-$dtype.safetensors" --seed 0 --dtype "$dtype"
  for mix in XL S; do
    build/bin/matc compile "$spec" --mix "$mix" --dtype "$dtype" -o "$out/matlm-25m-$mix-$dtype" 2>/dev/null
    # Best of three runs: the first also warms the page cache.
    for run in 1 2 3; do
      "$out/matlm-25m-$mix-$dtype" bench --weights "$out/matlm-25m-$dtype.safetensors" \
        --prompt-len 128 --new-tokens 128
    done | tee "$out/bench-$mix-$dtype.jsonl"
  done
done
for dtype in f32 bf16; do
  echo "== $dtype weights =="
  python3 bench/report_cpu.py "$out/machine-peak.json" "$out/bench-XL-$dtype.jsonl" "$out/bench-S-$dtype.jsonl"
done

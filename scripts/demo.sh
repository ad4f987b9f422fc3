#!/usr/bin/env bash
# The main job on the bundled default: set up and build, compile the ~25M
# parameter example MatLM for two Mix'n'Match choices (XL and S), write
# random weights, then generate and benchmark with both, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

spec=examples/specs/matlm-25m.json
out=out/demo
mkdir -p "$out"
matc=build/bin/matc

echo "== init: deterministic random weights (N(0, 0.02), seed 0) =="
"$matc" init "$spec" -o "$out/matlm-25m.safetensors" --seed 0
for mix in XL S; do
  echo "== compile $spec --mix $mix =="
  "$matc" compile "$spec" --mix "$mix" -o "$out/matlm-25m-$mix"
done

prompt="MatFormer nests many models in one."
for mix in XL S; do
  echo "== generate (mix $mix, greedy, 32 tokens; random weights, so the text is noise) =="
  "$out/matlm-25m-$mix" generate --weights "$out/matlm-25m.safetensors" \
    --prompt "$prompt" --max-new-tokens 32 --temperature 0 --print-tokens
done

echo "== bench (prompt 64 tokens, 64 new tokens) =="
for mix in XL S; do
  "$out/matlm-25m-$mix" bench --weights "$out/matlm-25m.safetensors" \
    --prompt-len 64 --new-tokens 64 | tee "$out/bench-$mix.json"
done
python3 bench/compare_mixes.py "$out/bench-XL.json" "$out/bench-S.json"

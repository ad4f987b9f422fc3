#!/usr/bin/env bash
# Elastic vs static on the 25M example: the same MIX from a static binary and
# from one elastic binary; the cost of switching mixes between serve
# requests; speculative decoding with a nested draft. Prints JSON lines and a
# summary; not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null

out=out/bench-elastic
mkdir -p "$out"
spec=examples/specs/matlm-25m.json
weights=$out/matlm-25m.safetensors
build/bin/matc init "$spec" -o "$weights" --seed 0
build/bin/matc compile "$spec" --elastic -o "$out/elastic" 2>/dev/null
for mix in XL S; do
  build/bin/matc compile "$spec" --mix "$mix" -o "$out/static-$mix" 2>/dev/null
done

# Static and elastic runs alternate, so drift in the machine's speed hits both.
rm -f "$out"/static-*.jsonl "$out"/elastic-*.jsonl
for run in 1 2 3 4 5; do
  for mix in XL S; do
    "$out/static-$mix" bench --weights "$weights" --prompt-len 128 --new-tokens 128 >> "$out/static-$mix.jsonl"
    "$out/elastic" bench --weights "$weights" --mix "$mix" --prompt-len 128 --new-tokens 128 >> "$out/elastic-$mix.jsonl"
  done
done

# Switching: 16 requests all at S, then 16 alternating XL/S, same prompt.
request() { echo "{\"prompt\":\"Switching between nested submodels costs nothing.\",\"mix\":\"$1\",\"max_new_tokens\":32}"; }
for i in $(seq 16); do request S; done > "$out/same.jsonl.in"
for i in $(seq 8); do request XL; request S; done > "$out/alternating.jsonl.in"
"$out/elastic" serve --weights "$weights" < "$out/same.jsonl.in" > "$out/same.jsonl" 2>/dev/null
"$out/elastic" serve --weights "$weights" < "$out/alternating.jsonl.in" > "$out/alternating.jsonl" 2>/dev/null

# Speculative decoding: XL verifies, S or M drafts; bench measures plain and
# speculative greedy decoding of the same tokens in one run.
for draft in S M; do
  "$out/elastic" bench --weights "$weights" --mix XL --draft-mix "$draft" \
    --prompt-len 64 --new-tokens 128 > "$out/spec-$draft.json"
done

python3 bench/report_elastic.py "$out"

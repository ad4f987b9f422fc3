#!/usr/bin/env bash
# Two builds of matc side by side in one run, on one spec: compile time of
# each mix, then prefill and decode speed of each binary, interleaved so both
# see the same machine state. Prints one JSON line per measurement; not a
# test.
#
#   bash bench/compare-builds.sh BEFORE/bin/matc AFTER/bin/matc \
#        [SPEC] [PROMPT_LEN] [NEW_TOKENS]
#
# Each matc links its own runtime, so binaries of different ABI versions
# compare fairly.
set -euo pipefail
before=$1 after=$2
spec=${3:-bench/specs/matlm-270m.json}
prompt_len=${4:-512}
new_tokens=${5:-32}
out=out/compare-builds
mkdir -p "$out"
name=$(basename "$spec" .json)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "{\"cpu\": \"$cpu\", \"cores\": $(nproc), \"spec\": \"$spec\", \"prompt_len\": $prompt_len, \"new_tokens\": $new_tokens, \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"

weights="$out/$name.safetensors"
[ -f "$weights" ] || "$after" init "$spec" -o "$weights" --seed 0
for mix in XL S; do
  for build in before after; do
    matc=${!build}
    start=$(date +%s.%N)
    "$matc" compile "$spec" --mix "$mix" -o "$out/$name-$mix-$build" 2>/dev/null
    end=$(date +%s.%N)
    echo "{\"build\": \"$build\", \"mix\": \"$mix\", \"compile_s\": $(awk "BEGIN {print $end - $start}")}"
  done
done
for run in 1 2 3; do
  for mix in XL S; do
    for build in before after; do
      line=$("$out/$name-$mix-$build" bench --weights "$weights" \
        --prompt-len "$prompt_len" --new-tokens "$new_tokens")
      echo "{\"build\": \"$build\", \"mix\": \"$mix\", \"run\": $run, \"bench\": $line}"
    done
  done
done

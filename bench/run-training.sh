#!/usr/bin/env bash
# Training speed of matc against PyTorch on the same model, weights and
# corpus, in one run (issue 9, item 8): tokens/s and peak RSS of
# `OUT train` (a program from `matc compile --train`), PyTorch eager and
# torch.compile (bench/peers/train_torch.py: the same model, AdamW, joint
# loss sum_i lambda_i CE_i, torch.set_num_threads), for `--sampling all` and
# one sampled recipe. Writes bench/results/training-<cpu>[-TAG].jsonl and a
# section of bench/RESULTS.md with matc's ratios (bench/peers/report_training.py).
#
# usage: bench/run-training.sh [--spec SPEC] [--batch B] [--seq-len T]
#          [--warmup-steps N] [--steps N] [--threads N] [--sampled p0,p1,...]
#          [--engines "matc torch-eager torch-compile"] [--data FILE]
#          [--build DIR] [--tag TAG] [--no-results-md]
# Defaults: examples/specs/matlm-25m.json, 8 x 256, 1 untimed then 3 timed
# steps, 2 threads, sampled recipe 0,0,0,1 (one granularity per step, always
# XL), corpus: Debian's fortunes as README's training example builds it (else
# 4 MB of generated text), build folder $BUILD_DIR or build/.
# A quick check: bench/run-training.sh --batch 2 --seq-len 64 --warmup-steps 1
#   --steps 2 --tag small --no-results-md
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/peers/driver.sh

spec=examples/specs/matlm-25m.json
batch=8 seq_len=256 warmup_steps=1 steps=3 threads=2 sampled=0,0,0,1
engines="matc torch-eager torch-compile"
build=${BUILD_DIR:-build}
data="" tag="" results_md=1
usage() { sed -n '/^# usage:/,/^# Defaults/p' "$0" | sed 's/^# \{0,1\}//; $d' >&2; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --spec) spec=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --seq-len) seq_len=$2; shift 2 ;;
    --warmup-steps) warmup_steps=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --sampled) sampled=$2; shift 2 ;;
    --engines) engines=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --no-results-md) results_md=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run-training.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -f $spec ]] || { echo "run-training.sh: --spec $spec: no such file" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "run-training.sh: /usr/bin/time is missing (Debian package 'time')" >&2; exit 1; }

start=$(date +%s)
SETUP_PARTS=venv bash bench/peers/setup.sh "$build"
if [[ -f $build/build.ninja ]]; then
  nice -n 15 ninja -C "$build" -j2 >/dev/null
fi
[[ -x $build/bin/matc ]] || { echo "run-training.sh: $build/bin/matc is missing; build matc first" >&2; exit 1; }
build=$(cd "$build" && pwd)
work=$build/bench-peers/training-$(basename "$spec" .json)
mkdir -p "$work/tmp"
export TMPDIR=$work/tmp TORCHINDUCTOR_CACHE_DIR=$work/tmp/inductor PYTHONDONTWRITEBYTECODE=1

if [[ -z $data ]]; then
  data=$work/corpus.txt
  if [[ ! -s $data ]]; then
    fortunes=/usr/share/games/fortunes
    if [[ -d $fortunes ]] && [[ -n $(find "$fortunes" -maxdepth 1 -type f ! -name '*.dat' -print -quit) ]]; then
      find "$fortunes" -maxdepth 1 -type f ! -name '*.dat' | sort | xargs cat > "$data.tmp"
    else
      # Generated text: deterministic words, 4 MB.
      "$build/bench-venv/bin/python" -c '
import random, sys
r = random.Random(0)
words = ["".join(r.choice("etaoinshrdlucmfwypvbgkjqxz") for _ in range(r.randint(1, 9))) for _ in range(5000)]
out, n = [], 0
while n < 4 << 20:
    w = r.choice(words) + r.choice("    ,.\n")
    out.append(w); n += len(w)
sys.stdout.write("".join(out))' > "$data.tmp"
    fi
    mv "$data.tmp" "$data"
  fi
fi

run_driver "$build/bench-venv/bin/python" bench/peers/run_training.py --spec "$spec" --data "$data" \
  --build "$build" --workdir "$work" --results-dir bench/results --tag "$tag" --batch "$batch" \
  --seq-len "$seq_len" --warmup-steps "$warmup_steps" --steps "$steps" --threads "$threads" \
  --sampled "$sampled" --engines "$engines"
out=$(cat "$driver_out"); rm -f "$driver_out"
report=()
[[ $results_md == 1 ]] && report+=(--results-md bench/RESULTS.md)
"$build/bench-venv/bin/python" bench/peers/report_training.py "$out" "${report[@]}"
echo "run-training.sh: done in $(( $(date +%s) - start )) s; $out" >&2

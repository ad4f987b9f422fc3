#!/usr/bin/env bash
# Reproduces the claims of "MatFormer: Nested Transformer for Elastic
# Inference" (Kudugunta et al., arXiv 2310.07707) at a scale this machine
# trains in under an hour, with matc's own compiled training (issue 13):
#   1. one universal MatLM (4 granularities, `train --sampling all`) and four
#      independently trained baselines of the sizes S, M, L, XL (the same
#      architecture with intermediate_size m_i, the same data, order, seed,
#      schedule and number of steps as the universal model gives each
#      granularity);
#   2. held-out loss per granularity, MatLM against baseline;
#   3. Mix'n'Match: held-out loss against FLOPs per token for every
#      non-decreasing mix and a sample of decreasing and random ones, all from
#      the one universal checkpoint with one elastic binary;
#   4. consistency with XL: identical greedy tokens and KL divergence;
#   5. speculative decoding, S drafting for XL, universal and baseline pairs;
#   and a control: the universal program trained on XL alone.
# bench/reproduce/analyze.py measures 2-5 and writes docs/REPRODUCTION.md,
# the plots docs/reproduction-*.png and bench/results/reproduction-<cpu>.json.
#
# usage: bench/reproduce/run.sh [--steps N] [--batch B] [--seq-len T]
#          [--lr X] [--warmup N] [--seed S] [--spec SPEC] [--build DIR]
#          [--fresh] [--quick]
# Defaults: bench/reproduce/matlm-4m.json, 300 steps of 16 x 128 bytes,
# lr 2e-3 with 30 warm-up steps, seed 0, build folder $BUILD_DIR or build/.
# The corpus is Debian's fortunes (scripts/setup.sh installs it): the first
# 90% trains, the last 10% is held out. Work files go to BUILD/reproduce; a
# model already trained there with the same settings and compiler is reused
# (--fresh retrains everything). --quick: 20 steps and fewer mixes, a check
# of the pipeline whose report goes to BUILD/reproduce/quick/ instead of docs/.
set -euo pipefail
cd "$(dirname "$0")/../.."

spec=bench/reproduce/matlm-4m.json
steps=300 batch=16 seq_len=128 lr=2e-3 warmup=30 seed=0
build=${BUILD_DIR:-build}
fresh=0 quick=0
usage() { sed -n '/^# usage:/,/^# Defaults/p' "$0" | sed 's/^# \{0,1\}//; $d' >&2; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --seq-len) seq_len=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --quick) quick=1; steps=20; warmup=2; shift ;;
    -h|--help) usage 0 ;;
    *) echo "reproduce: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -f $spec ]] || { echo "reproduce: --spec $spec: no such file" >&2; exit 1; }

start=$(date +%s)
stage_start=$start
timings=()
stage_done() {  # name: records the seconds since the previous stage ended
  local now; now=$(date +%s)
  timings+=("\"$1\": $(( now - stage_start ))")
  echo "reproduce: $1 took $(( now - stage_start )) s" >&2
  stage_start=$now
}

# --- set-up: matc, the corpus package, a small Python for the analysis -----
bash scripts/setup.sh
build=$(cd "$build" && pwd)
matc=$build/bin/matc
venv=$build/reproduce-venv
packages=(numpy matplotlib safetensors)
if [[ ! -f $venv/.installed || "$(cat "$venv/.installed")" != "${packages[*]}" ]]; then
  echo "reproduce: creating $venv (${packages[*]})" >&2
  python3 -m venv "$venv" 2>/dev/null || {
    bash scripts/install-packages.sh python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/python" -m pip install --quiet "${packages[@]}" >&2
  echo "${packages[*]}" > "$venv/.installed"
fi
python=$venv/bin/python

work=$build/reproduce
[[ $quick == 1 ]] && work=$build/reproduce/quick
[[ $fresh == 1 ]] && rm -rf "$work"
mkdir -p "$work"/{bin,specs,ckpt,logs}
corpus=$work/fortunes.txt
if [[ ! -s $corpus ]]; then
  find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.dat' | sort | xargs cat > "$corpus.tmp"
  mv "$corpus.tmp" "$corpus"
fi
echo "reproduce: corpus $corpus, $(stat -c %s "$corpus") bytes" >&2
stage_done setup

# --- the models: the universal spec and one baseline spec per granularity ----
names=$("$python" - "$spec" "$work/specs" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
grans = spec["matformer"]["granularities"]
# Mix tokens: S M L XL for four granularities, else gK (DESIGN.md, MIX).
names = {4: ["S", "M", "L", "XL"]}.get(len(grans), [f"g{i}" for i in range(len(grans))])
json.dump(spec, open(f"{sys.argv[2]}/universal.json", "w"), indent=2)
for name, width in zip(names, grans):
    # One granularity: without a matformer block the spec would default to
    # four nested ones and `train --sampling all` would train them jointly.
    base = {k: v for k, v in spec.items() if k != "matformer"}
    base["intermediate_size"] = width
    base["matformer"] = {"granularities": [width]}
    json.dump(base, open(f"{sys.argv[2]}/baseline-{name}.json", "w"), indent=2)
print(" ".join(names))
EOF
)
models="universal"
for n in $names; do models+=" baseline-$n"; done

# Two compiles at a time (one core each). A program is kept while its spec
# is unchanged (--fresh recompiles, after a change to matc say); retraining
# follows a recompile, as the training stamp holds the program's time.
compile() {  # model
  local out=$work/bin/$1 spec_file=$work/specs/$1.json flags=(--train)
  [[ $1 == universal ]] && flags+=(--elastic)
  if [[ -x $out && -f $out.spec ]] && cmp -s "$out.spec" "$spec_file"; then return 0; fi
  "$matc" compile "$spec_file" "${flags[@]}" -o "$out.tmp" 2> "$work/logs/$1.compile.txt" ||
    { cat "$work/logs/$1.compile.txt" >&2; return 1; }
  mv "$out.tmp" "$out"
  cp "$spec_file" "$out.spec"
}
echo "reproduce: compiling $models" >&2
pids=()
for m in $models; do
  while [[ $(jobs -rp | wc -l) -ge 2 ]]; do wait -n || exit 1; done
  compile "$m" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { echo "reproduce: a compile failed" >&2; exit 1; }; done
target=$(grep -ho '\[exe, [^]]*\]' "$work"/logs/*.compile.txt 2>/dev/null | head -1 || true)
# When something was compiled, its time is kept for the report's estimate
# of a run from scratch.
[[ $(( $(date +%s) - stage_start )) -gt 5 ]] &&
  echo "{\"seconds\": $(( $(date +%s) - stage_start ))}" > "$work/logs/compile-time.json"
stage_done compile

# --- training: the same data, order, seed and schedule for every model ------
# A control beside them: the universal program trained on its largest
# granularity alone (`--sampling 0,...,0,1`). It is the XL baseline's model
# run through the elastic program, so a gap between MatLM and the baselines
# that the control does not share comes from the joint objective, not from
# the program that trains it.
count=$(wc -w <<< "$names")
xl_only=$(printf '0,%.0s' $(seq 2 "$count"))1
settings="--steps $steps --batch $batch --seq-len $seq_len --lr $lr --warmup $warmup --seed $seed"
for m in $models universal-xl-only; do
  program=$m sampling=all
  # --sampling all: the universal model runs every granularity on each batch;
  # a baseline has its one granularity.
  [[ $m == universal-xl-only ]] && program=universal sampling=$xl_only
  ckpt=$work/ckpt/$m.safetensors stamp=$work/ckpt/$m.settings
  want="$settings --sampling $sampling $(stat -c %Y "$work/bin/$program")"
  if [[ -f $ckpt && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "reproduce: $m already trained with these settings ($ckpt)" >&2
    continue
  fi
  rm -f "$stamp"
  echo "reproduce: training $m ($settings --sampling $sampling)" >&2
  t0=$(date +%s)
  # shellcheck disable=SC2086
  "$work/bin/$program" train --data "$corpus" --out "$ckpt" $settings --sampling "$sampling" \
    --save-every 0 --log-every 10 > "$work/logs/$m.train.json"
  echo "{\"seconds\": $(( $(date +%s) - t0 ))}" > "$work/logs/$m.train-time.json"
  echo "$want" > "$stamp"
done
stage_done train

# --- measurements and the report ----------------------------------------------
out_dir=docs results=bench/results
[[ $quick == 1 ]] && out_dir=$work/report results=$work/report
mkdir -p "$out_dir" "$results"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cat > "$work/config.json" <<EOF
{"spec": "$spec", "work": "$work", "corpus": "$corpus", "names": "$names",
 "steps": $steps, "batch": $batch, "seq_len": $seq_len, "lr": $lr,
 "warmup": $warmup, "seed": $seed, "quick": $quick, "cpu": "$cpu",
 "target": "$target", "threads": "$(nproc)",
 "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes')",
 "out_dir": "$out_dir", "results_dir": "$results", "matc": "$matc",
 "timings": {$(IFS=,; echo "${timings[*]}")}, "started": $start}
EOF
"$python" bench/reproduce/analyze.py "$work/config.json"
echo "reproduce: done in $(( $(date +%s) - start )) s; report $out_dir/REPRODUCTION.md" >&2

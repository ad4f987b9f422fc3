#!/usr/bin/env bash
# matc against its peers on the same spec and the same random weights, in one
# run (issue 8, item 3): the machine's f32 FMA peak and read bandwidth
# (matc-machine-peak), then prefill and decode tokens/s for each mix, for
# matc static (--mix) and elastic (--elastic, the mix chosen at run time),
# PyTorch eager, torch.compile, ONNX Runtime and llama.cpp (f32 GGUF, f16 KV
# cache, as llama-bench takes no f32 cache; decode
# at depth = the prompt, llama-bench -d). Every peer's greedy tokens and
# prefill logits are checked against matc's. Writes
# bench/results/peers-<cpu>[-TAG].jsonl, a section of bench/RESULTS.md with
# every ratio (bench/peers/report_peers.py) and a PNG plot beside the JSON.
#
# usage: bench/run-peers.sh [--spec SPEC] [--prompt-len N] [--new-tokens N]
#          [--threads N] [--repeats N] [--mixes "XL L M S per-layer"]
#          [--engines "matc-static matc-elastic torch-eager torch-compile onnxruntime llama.cpp"]
#          [--llama-flash-attn auto|on|off] [--build DIR] [--tag TAG] [--no-results-md]
# Defaults: bench/specs/matlm-270m.json, prompt 512, 32 new tokens, 2
# threads, best of 3 timed runs after a warm-up, llama.cpp's flash attention
# auto (its default; on the CPU it computes in lower precision: prefill logits
# about 1e-4 from matc's, where off gives about 1e-7), build folder
# $BUILD_DIR or build/. The peers are installed once under the build folder
# (bench/peers/setup.sh: BUILD/bench-venv, BUILD/bench-peers/llama.cpp) and
# reused; the models, ONNX graphs and GGUFs of a run go to
# BUILD/bench-peers/work-<spec name>.
# A quick check: bench/run-peers.sh --spec examples/specs/matlm-25m.json
#   --prompt-len 64 --new-tokens 8 --repeats 1 --mixes "XL S" --tag small
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/peers/driver.sh

spec=bench/specs/matlm-270m.json
prompt_len=512 new_tokens=32 threads=2 repeats=3
mixes="XL L M S per-layer"
engines="matc-static matc-elastic torch-eager torch-compile onnxruntime llama.cpp"
build=${BUILD_DIR:-build}
tag="" results_md=1 llama_fa=auto
usage() { sed -n '/^# usage:/,/^# Defaults/p' "$0" | sed 's/^# \{0,1\}//; $d' >&2; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --spec) spec=$2; shift 2 ;;
    --prompt-len) prompt_len=$2; shift 2 ;;
    --new-tokens) new_tokens=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --mixes) mixes=$2; shift 2 ;;
    --engines) engines=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --llama-flash-attn) llama_fa=$2; shift 2 ;;
    --no-results-md) results_md=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run-peers.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -f $spec ]] || { echo "run-peers.sh: --spec $spec: no such file" >&2; exit 1; }

start=$(date +%s)
# llama.cpp is built only when it is one of the engines.
parts=venv
[[ " $engines " == *" llama.cpp "* ]] && parts="venv llama"
SETUP_PARTS=$parts bash bench/peers/setup.sh "$build"
# matc, its runtime archives and matc-machine-peak, when this is a CMake
# build folder (a no-op when they are up to date).
if [[ -f $build/build.ninja ]]; then
  nice -n 15 ninja -C "$build" -j2 >/dev/null
fi
for tool in matc matc-machine-peak; do
  [[ -x $build/bin/$tool ]] || { echo "run-peers.sh: $build/bin/$tool is missing; build matc first" >&2; exit 1; }
done

build=$(cd "$build" && pwd)
work=$build/bench-peers/work-$(basename "$spec" .json)
mkdir -p "$work/tmp"
# torch.compile (inductor) writes its caches under TMPDIR.
export TMPDIR=$work/tmp TORCHINDUCTOR_CACHE_DIR=$work/tmp/inductor
export PYTHONDONTWRITEBYTECODE=1
run_driver "$build/bench-venv/bin/python" bench/peers/run_peers.py --spec "$spec" --build "$build" \
  --workdir "$work" --results-dir bench/results --tag "$tag" --prompt-len "$prompt_len" \
  --new-tokens "$new_tokens" --threads "$threads" --repeats "$repeats" --mixes "$mixes" \
  --engines "$engines" --llama-flash-attn "$llama_fa"
out=$(cat "$driver_out"); rm -f "$driver_out"
report=(--plot "${out%.jsonl}.png")
[[ $results_md == 1 ]] && report+=(--results-md bench/RESULTS.md)
"$build/bench-venv/bin/python" bench/peers/report_peers.py "$out" "${report[@]}"
echo "run-peers.sh: done in $(( $(date +%s) - start )) s; $out" >&2

#!/usr/bin/env bash
# The GPU checks and benchmarks of the CUDA target, in one go, on a machine
# with an NVIDIA GPU (nothing here runs a kernel without one):
#   1. build matc, matc-reference and the CUDA runtime (configures build/ if
#      needed);
#   2. find the GPU (stops here, exit 1, when there is none);
#   3. end to end: the lit tests of test/gpu (device.test runs now), and the
#      CUDA binaries' logits against the CPU binary's, for the tiny model and
#      the hidden-1024 benchmark model (bench/specs/matlm-270m.json): f32
#      relative error <= 1e-4, bf16 <= 1e-2;
#   4. kernels: matc's kernel times on the benchmark model's prefill
#      (MATRT_CUDA_PROFILE=1) and cuBLAS on the same shapes (FFN, attention's
#      two matmuls; test/gpu/bench/cublas_bench.cu);
#   5. throughput: prefill and decode tokens/s of XL and S, f32 and bf16,
#      with and without --cuda-tensor-cores (judged at 1e-2 in step 3), with
#      decode's weight bandwidth against --hbm-gbs;
#   6. a short table last.
# Usage: test/gpu/run-on-device.sh [--arch sm_90|sm_80] [--build DIR]
#          [--prompt-len N] [--new-tokens N] [--hbm-gbs GB/s]
# Writes its files under out/gpu/. Exit status: 0 when every check passed,
# 1 when one failed or there is no GPU, 2 on bad usage.
set -uo pipefail
cd "$(dirname "$0")/../.."

arch=sm_90
build=build
prompt=512
new_tokens=64
hbm_gbs=4800 # H200: 4.8 TB/s
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --prompt-len) prompt=$2; shift 2 ;;
    --new-tokens) new_tokens=$2; shift 2 ;;
    --hbm-gbs) hbm_gbs=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run-on-device: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$arch" in sm_80|sm_90) ;; *) echo "run-on-device: --arch must be sm_80 or sm_90" >&2; exit 2 ;; esac

out=out/gpu
mkdir -p "$out"
failures=0
step() { echo; echo "== $* =="; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

step "1. build ($build)"
export PATH=/usr/lib/llvm-22/bin:/usr/local/cuda/bin:$PATH
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >"$out/cmake.log" 2>&1 ||
    { echo "run-on-device: cmake failed (see $out/cmake.log)"; exit 1; }
fi
ninja -C "$build" matc matc-reference matrt_cuda matrt_main >"$out/build.log" 2>&1 ||
  { echo "run-on-device: the build failed (see $out/build.log; is the CUDA toolkit installed?)"; exit 1; }
matc=$build/bin/matc
reference=$build/bin/matc-reference
echo "built: $matc"

step "2. device"
gpu_name=""
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu_name=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
fi
if [ -z "$gpu_name" ]; then
  if [ -e /dev/nvidia0 ]; then
    gpu_name="(a GPU at /dev/nvidia0; nvidia-smi gave no name)"
  else
    echo "run-on-device: no device: no NVIDIA GPU here (nvidia-smi lists none and /dev/nvidia0 is absent); the device checks and benchmarks need one"
    exit 1
  fi
fi
echo "GPU: $gpu_name (compiling for $arch)"

step "3. end to end"
lit -sv --param cuda_arch="$arch" "$build/test/gpu" 2>&1 | tee "$out/lit-gpu.log" | tail -4
grep -q 'Failed' "$out/lit-gpu.log" && fail "lit test/gpu"
bench_spec=bench/specs/matlm-270m.json
tiny_spec=examples/specs/tiny.json
"$matc" init "$tiny_spec" -o "$out/tiny-f32.safetensors" --seed 7
"$matc" init "$tiny_spec" -o "$out/tiny-bf16.safetensors" --seed 7 --dtype bf16
"$matc" init "$bench_spec" -o "$out/bench-f32.safetensors" --seed 7
"$matc" init "$bench_spec" -o "$out/bench-bf16.safetensors" --seed 7 --dtype bf16
tokens=$(python3 -c 'print(",".join(str((i * 37 + 11) % 256) for i in range(100)))')
for spec_name in tiny bench; do
  spec=$([ $spec_name = tiny ] && echo "$tiny_spec" || echo "$bench_spec")
  for dtype in f32 bf16; do
    tolerance=$([ $dtype = f32 ] && echo 1e-4 || echo 1e-2)
    for mix in XL S; do
      name=$spec_name-$mix-$dtype
      "$matc" compile "$spec" --mix "$mix" --dtype "$dtype" -o "$out/$name-cpu" 2>/dev/null &&
        "$matc" compile "$spec" --mix "$mix" --dtype "$dtype" --target cuda --cuda-arch "$arch" -o "$out/$name-cuda" 2>/dev/null ||
        { fail "$name: compile"; continue; }
      "$out/$name-cpu" forward --weights "$out/$spec_name-$dtype.safetensors" --tokens "$tokens" --output "$out/$name-cpu.npy" 2>/dev/null &&
        "$out/$name-cuda" forward --weights "$out/$spec_name-$dtype.safetensors" --tokens "$tokens" --output "$out/$name-cuda.npy" ||
        { fail "$name: forward"; continue; }
      python3 test/gpu/bench/compare_logits.py "$out/$name-cpu.npy" "$out/$name-cuda.npy" \
        --tolerance "$tolerance" --label "$name (100 tokens, CUDA vs CPU)" || fail "$name: logits"
      # Tensor cores round activations to bf16: judged at 1e-2 whatever the weights.
      "$matc" compile "$spec" --mix "$mix" --dtype "$dtype" --target cuda --cuda-arch "$arch" \
        --cuda-tensor-cores -o "$out/$name-cuda-tc" 2>/dev/null &&
        "$out/$name-cuda-tc" forward --weights "$out/$spec_name-$dtype.safetensors" --tokens "$tokens" \
          --output "$out/$name-cuda-tc.npy" &&
        python3 test/gpu/bench/compare_logits.py "$out/$name-cpu.npy" "$out/$name-cuda-tc.npy" \
          --tolerance 1e-2 --label "$name tensor cores (CUDA vs CPU)" || fail "$name: tensor-core logits"
    done
  done
done

step "4. kernels (prefill of $prompt tokens, hidden-1024 model, XL)"
for variant in f32 bf16 bf16-tc; do
  dtype=${variant%-tc}
  binary=$out/bench-XL-$dtype-cuda$([ "$variant" = bf16-tc ] && echo -tc)
  MATRT_CUDA_PROFILE=1 "$binary" bench --weights "$out/bench-$dtype.safetensors" \
    --prompt-len "$prompt" --new-tokens 1 >/dev/null 2>"$out/profile-$variant.txt" || fail "profile $variant"
  echo "matc kernels, $variant (synchronous timing, includes launch overhead):"
  sed -n '1,16p' "$out/profile-$variant.txt"
done
if nvcc -O2 -std=c++17 -o "$out/cublas_bench" test/gpu/bench/cublas_bench.cu -lcublas >"$out/nvcc.log" 2>&1; then
  "$out/cublas_bench" "$prompt" | tee "$out/cublas.jsonl" || fail "cublas_bench"
else
  fail "cublas_bench does not build (see $out/nvcc.log)"
fi

step "5. throughput (prompt $prompt, $new_tokens new tokens)"
: >"$out/bench.jsonl"
for dtype in f32 bf16; do
  for mix in XL S; do
    for tc in "" -tc; do
      "$out/bench-$mix-$dtype-cuda$tc" bench --weights "$out/bench-$dtype.safetensors" \
        --mix "$mix" --prompt-len "$prompt" --new-tokens "$new_tokens" |
        sed "s/^{/{\"tensor_cores\":$([ -n "$tc" ] && echo true || echo false),/" |
        tee -a "$out/bench.jsonl" || fail "bench $mix $dtype$tc"
    done
  done
done

step "6. summary: $gpu_name, $arch"
python3 - "$out" "$hbm_gbs" <<'PY'
import json, re, sys
out, hbm = sys.argv[1], float(sys.argv[2])
rows = [json.loads(l) for l in open(f"{out}/bench.jsonl") if l.strip()]
print("| mix | weights | tensor cores | prefill tok/s | decode tok/s | decode weight GB/s | of HBM roofline |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    gbs = r["weight_bytes"] * r["decode_tok_s"] / 1e9
    print(f"| {r['mix'][:18]} | {r['weight_dtype']} | {'yes' if r['tensor_cores'] else 'no'} | "
          f"{r['prefill_tok_s']:.0f} | {r['decode_tok_s']:.1f} | {gbs:.0f} | {100 * gbs / hbm:.1f}% |")
try:
    cublas = [json.loads(l) for l in open(f"{out}/cublas.jsonl") if l.strip()]
    print()
    print("| cuBLAS op | dtype | ms | TFLOP/s |")
    print("|---|---|---|---|")
    for c in cublas:
        print(f"| {c['op']} | {c['dtype']} | {c['ms']:.3f} | {c['tflops']:.1f} |")
except FileNotFoundError:
    pass
for dtype in ("f32", "bf16", "bf16-tc"):
    try:
        text = open(f"{out}/profile-{dtype}.txt").read()
    except FileNotFoundError:
        continue
    m = re.search(r"^\s*matc_attention\s+(\d+)\s+([\d.]+)\s+([\d.]+)", text, re.M)
    if m:
        print(f"\nmatc_attention ({dtype}): {m.group(1)} calls, {float(m.group(3)):.1f} us per call")
PY
echo
if [ "$failures" -eq 0 ]; then echo "run-on-device: all checks passed"; exit 0; fi
echo "run-on-device: $failures check(s) failed"; exit 1

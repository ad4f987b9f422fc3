#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz/targets with Debian's clang-22
# (-fsanitize=fuzzer,address,undefined) straight from the spec/ and runtime/
# sources (no MLIR, no CMake; the default GCC build is untouched), then runs
# each for SECONDS seconds (default 10) starting from its seed corpus in
# test/fuzz/corpus/<name>. A crash, a sanitizer report, a leak, a time-out
# (-timeout=10 s) or running out of memory (-rss_limit_mb=2048) fails the
# script and leaves the input in build-fuzz/findings/<name>/; make every
# finding a regression test in the ordinary suite.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   targets: spec mix safetensors manifest serve-request (default: all)
#
# Installs clang-22 and libclang-rt-22-dev when missing. New corpus entries
# go to build-fuzz/corpus/<name>, never into the seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-10}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(spec mix safetensors manifest serve-request)

bash scripts/install-packages.sh clang-22 libclang-rt-22-dev nlohmann-json3-dev

cxx=clang++-22
out=build-fuzz
mkdir -p "$out/obj"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer
       -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -Wno-deprecated-declarations
       -Ispec/include -Iruntime/include -Iabi/include)

# The library sources the targets need: all of spec/, and the runtime's
# manifest and serve-request parsers.
sources=(spec/lib/*.cpp runtime/lib/Manifest.cpp runtime/lib/ServeRequest.cpp)
objects=()
pids=()
for source in "${sources[@]}"; do
  object="$out/obj/$(echo "$source" | tr / _).o"
  objects+=("$object")
  if [ ! -f "$object" ] || [ "$source" -nt "$object" ] ||
     [ "$0" -nt "$object" ]; then
    "$cxx" "${flags[@]}" -Ispec/lib -c "$source" -o "$object" &
    pids+=($!)
    # Two at a time: the machine has two cores.
    if ((${#pids[@]} >= 2)); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
done
for pid in "${pids[@]}"; do wait "$pid"; done

declare -A target_source=(
  [spec]=FuzzSpec.cpp [mix]=FuzzMix.cpp [safetensors]=FuzzSafetensors.cpp
  [manifest]=FuzzManifest.cpp [serve-request]=FuzzServeRequest.cpp)

status=0
for name in "${targets[@]}"; do
  source="test/fuzz/targets/${target_source[$name]:?unknown target $name}"
  binary="$out/fuzz-$name"
  "$cxx" "${flags[@]}" -fsanitize=fuzzer "$source" "${objects[@]}" -o "$binary"
  mkdir -p "$out/corpus/$name" "$out/findings/$name"
  echo "== fuzz $name for ${seconds}s =="
  log="$out/fuzz-$name.log"
  if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$out/findings/$name/" \
       "$out/corpus/$name" "test/fuzz/corpus/$name" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$log" | tail -2
  else
    status=1
    tail -40 "$log"
    echo "fuzz: $name FAILED; inputs in $out/findings/$name/"
  fi
done
exit $status

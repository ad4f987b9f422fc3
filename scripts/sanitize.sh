#!/usr/bin/env bash
# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer: builds
# the compiler, the runtime, the tests and the reference in build-asan/ with
# GCC's -fsanitize=address,undefined (MLIR/LLVM's own libraries are Debian's,
# not instrumented; all of our code is), links every compiled model with the
# sanitizers too (a `c++` on PATH that adds them), then runs ctest and lit.
# Any sanitizer report fails the run: reports are written to
# build-asan/sanitizer-logs/ (so one from a command whose stderr a test
# discards, or one inside `not`, is still seen) and the script lists them.
#
#   bash scripts/sanitize.sh          # build + every test
#
# Measured on the 2-core development machine: see README.md (Hostile inputs).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null || exit 1
export PATH="/usr/lib/llvm-22/bin:$PATH"

build=build-asan
sanitize="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
start=$(date +%s)
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS="$sanitize -g1" -DCMAKE_C_FLAGS="$sanitize -g1" \
    -DCMAKE_EXE_LINKER_FLAGS="$sanitize" \
    -DCMAKE_SHARED_LINKER_FLAGS="$sanitize" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit || exit 1
fi
cmake --build "$build" -j2 || exit 1
built=$(date +%s)

# Compiled models link libmatrt.a (instrumented): the driver matc calls must
# add the sanitizer runtimes.
mkdir -p "$build/sanitizer-bin"
for driver in c++ cc; do
  cat >"$build/sanitizer-bin/$driver" <<WRAPPER
#!/bin/sh
exec /usr/bin/$driver $sanitize "\$@"
WRAPPER
  chmod +x "$build/sanitizer-bin/$driver"
done
export PATH="$PWD/$build/sanitizer-bin:$PATH"
# Programs the tests build with CMake (the installed package's embedding
# examples, in C and C++) link the instrumented libraries and load
# instrumented models.
export CC="$PWD/$build/sanitizer-bin/cc" CXX="$PWD/$build/sanitizer-bin/c++"

logs="$PWD/$build/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
# abort_on_error: a report is a crash, which `not` does not count as the
# expected failure. Leaks are checked too.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="abort_on_error=1:halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
# use_tls=0: this LeakSanitizer (GCC 12's) misreads the dynamic TLS of a
# dlopen'd libomp (bogus ranges) and its tracer crashed at exit in every
# program that JIT-compiles or loads a model library. Not scanning TLS can
# only add reports (an object reachable only from TLS looks leaked), never
# hide one; the one seen, glibc's dlopen bookkeeping, is suppressed.
# print_suppressions=0: a run whose only leaks are suppressed writes no log.
export LSAN_OPTIONS="use_tls=0:print_suppressions=0:suppressions=$PWD/test/sanitizer/lsan.supp"

status=0
echo "== ctest under ASan+UBSan =="
ctest --test-dir "$build" --output-on-failure -j2 || status=1
echo "== lit under ASan+UBSan =="
lit -s "$build/test" || status=1
end=$(date +%s)

if compgen -G "$logs/*" >/dev/null; then
  echo "sanitize: reports in $logs:"
  for report in "$logs"/*; do echo "--- $report"; head -30 "$report"; done
  status=1
fi
echo "sanitize: build $((built - start)) s, tests $((end - built)) s, status $status"
exit $status

#!/usr/bin/env bash
# Installs the build into a temporary prefix, moves the prefix (the package
# must be relocatable), builds examples/embedding against it with
# find_package(matc CONFIG) and serve_mixes.cpp with pkg-config, and runs
# both: the C example compiles a spec at run time through matc/matc.h, the
# C++ one serves two mixes of an elastic --emit lib model. Also checks what
# an --emit lib library exports.
#   install-test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
work=$(mktemp -d /tmp/matc-install-XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
mv "$work/prefix" "$work/moved"
prefix=$work/moved
for f in bin/matc bin/matc-opt include/matc/matc.h include/matrt/matrt.h \
         lib/cmake/matc/matcConfig.cmake lib/pkgconfig/matrt.pc; do
  test -e "$prefix/$f" || { echo "missing $f in the installed tree"; exit 1; }
done

# The installed matc finds its runtime beside itself (no MATC_RUNTIME_DIR).
unset MATC_RUNTIME_DIR
spec=$src/examples/specs/tiny.json
"$prefix/bin/matc" init "$spec" -o "$work/tiny.safetensors" --seed 3
"$prefix/bin/matc" compile "$spec" --elastic --emit lib -o "$work/tiny-elastic.so"

# Only the C API and the model's ABI symbols leave an --emit lib library.
exported=$(nm -D --defined-only "$work/tiny-elastic.so" | awk '{print $3}' | sort)
echo "$exported" | grep -qx matrt_open
echo "$exported" | grep -qx matc_model_forward
echo "$exported" | grep -qx matc_model_loss
if echo "$exported" | grep -v '^matrt_\|^matc_model_manifest$\|^matc_model_forward$\|^matc_model_loss$' | grep .; then
  echo "unexpected exports above"; exit 1
fi

# CMake package.
cmake -S "$src/examples/embedding" -B "$work/examples" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/examples" > "$work/build.log" || { cat "$work/build.log"; exit 1; }

"$work/examples/compile-and-run" "$spec" "$work/tiny.safetensors" \
  "$work/tiny-S.so" S | tee "$work/c.out"
grep -q "^matc API 1\." "$work/c.out"
grep -q "^\[note\] .*tiny-S.so \[lib" "$work/c.out"
grep -q "^mix 32,32,32,32 generates:\( [0-9]*\)\{8\}$" "$work/c.out"
# A bad MIX comes back as a record, and the program says so.
if "$work/examples/compile-and-run" "$spec" "$work/tiny.safetensors" \
     "$work/bad.so" S,XXL,M,L > "$work/bad.out"; then
  echo "a bad mix compiled"; exit 1
fi
grep -q "^\[error\] file=mix field=mix token 1 ('XXL'): " "$work/bad.out"

"$work/examples/serve-mixes" "$work/tiny-elastic.so" "$work/tiny.safetensors" \
  S XL | tee "$work/cxx.out"
grep -q "^mix 32,32,32,32: generated\( [0-9]*\)\{6\}; loss" "$work/cxx.out"
grep -q "^mix 256,256,256,256: generated" "$work/cxx.out"
grep -q "^train_step: MATRT_ERROR_NOT_COMPILED_WITH_TRAIN" "$work/cxx.out"
# The same mix twice gives the same answer.
test "$(sed -n 1p "$work/cxx.out")" = "$(sed -n 3p "$work/cxx.out")"

# pkg-config.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
c++ -std=c++17 "$src/examples/embedding/serve_mixes.cpp" -o "$work/serve-pc" \
  $(pkg-config --cflags --libs matrt)
"$work/serve-pc" "$work/tiny-elastic.so" "$work/tiny.safetensors" S XL > "$work/pc.out"
diff "$work/cxx.out" "$work/pc.out"
echo "install test passed"

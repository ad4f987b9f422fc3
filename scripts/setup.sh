#!/usr/bin/env bash
# Installs what matc needs (Debian 12 packages; quick when nothing is
# missing), then configures and builds it in ./build with Ninja.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build ccache g++ python3
          llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools libomp-22-dev
          nlohmann-json3-dev libgtest-dev pkg-config
          fortunes)
bash scripts/install-packages.sh "${packages[@]}"

export PATH="/usr/lib/llvm-22/bin:$PATH"
build_type="${MATC_BUILD_TYPE:-Release}"
if [ ! -f build/build.ninja ]; then
  cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE="$build_type" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
fi
cmake --build build

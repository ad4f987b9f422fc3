#!/usr/bin/env bash
# Installs the benchmark peers under the build folder, cached between runs:
#   BUILD/bench-venv                 Python venv: torch, onnxruntime, onnx, onnxscript, gguf, matplotlib
#   BUILD/bench-peers/llama.cpp/     llama.cpp built from the sources the llama-cpp-python
#                                    sdist (PyPI) ships; bin/llama-bench, bin/llama-completion
# Usage: bench/peers/setup.sh BUILD_DIR. Prints nothing but progress on stderr.
# Everything runs under `nice -n 15` (the machine is shared).
set -euo pipefail
build=${1:?usage: setup.sh BUILD_DIR}
mkdir -p "$build"
build=$(cd "$build" && pwd)
python=${PYTHON:-python3}
llama_cpp_python_version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
jobs=${SETUP_JOBS:-2}
# Which parts to install (both by default): venv, llama.
parts=${SETUP_PARTS:-venv llama}
want() { [[ " $parts " == *" $1 "* ]]; }

venv=$build/bench-venv
# Packages: the peers and what the scripts use. torch from PyPI is the CUDA
# build (large download) and runs on the CPU.
packages=(torch onnxruntime onnx onnxscript gguf matplotlib safetensors numpy)
stamp=$venv/.matc-peers-installed
if want venv && [[ ! -f $stamp || "$(cat "$stamp")" != "${packages[*]}" ]]; then
  echo "setup: creating $venv and installing ${packages[*]} (torch is several GB)" >&2
  [[ -x $venv/bin/python ]] || nice -n 15 "$python" -m venv "$venv"
  nice -n 15 "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  nice -n 15 "$venv/bin/python" -m pip install --quiet "${packages[@]}" >&2
  echo "${packages[*]}" > "$stamp"
fi

peers=$build/bench-peers
llama=$peers/llama.cpp
if want llama && [[ ! -x $llama/bin/llama-bench || ! -x $llama/bin/llama-completion ]]; then
  mkdir -p "$peers/download"
  sdist=$(ls "$peers"/download/llama_cpp_python-"$llama_cpp_python_version".tar.gz 2>/dev/null || true)
  if [[ -z $sdist ]]; then
    echo "setup: downloading the llama-cpp-python $llama_cpp_python_version source package" >&2
    nice -n 15 "${PIP_PYTHON:-$venv/bin/python}" -m pip download --quiet --no-deps --no-binary :all: \
      -d "$peers/download" "llama-cpp-python==$llama_cpp_python_version" >&2
    sdist=$(ls "$peers"/download/llama_cpp_python-"$llama_cpp_python_version".tar.gz)
  fi
  src=$peers/src
  rm -rf "$src" && mkdir -p "$src"
  tar -xzf "$sdist" -C "$src" --strip-components=1
  echo "setup: building llama.cpp from $(basename "$sdist") (10-25 min on 2 cores)" >&2
  # The machine's own instruction set (AVX2 or AVX-512), as matc compiles for it.
  nice -n 15 cmake -G Ninja -S "$src/vendor/llama.cpp" -B "$llama/cmake" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
  nice -n 15 ninja -C "$llama/cmake" -j"$jobs" llama-bench llama-completion >&2
  mkdir -p "$llama/bin"
  cp "$llama/cmake/bin/llama-bench" "$llama/cmake/bin/llama-completion" "$llama/bin/"
  # Which upstream commit the sources are (the sdist's CHANGELOG names it).
  grep -m1 -io 'llama.cpp@[0-9a-f]*' "$src/CHANGELOG.md" > "$llama/upstream.txt" 2>/dev/null || true
fi
# llama-greedy: greedy tokens from token ids (bench/peers/llama_greedy.cpp),
# linked against the libraries built above.
here=$(cd "$(dirname "$0")" && pwd)
if want llama && [[ ! -x $llama/bin/llama-greedy || $here/llama_greedy.cpp -nt $llama/bin/llama-greedy ]]; then
  src=$peers/src/vendor/llama.cpp
  libs=$llama/cmake
  nice -n 15 g++ -O2 -std=c++17 -I"$src/include" -I"$src/ggml/include" "$here/llama_greedy.cpp" \
    "$libs/src/libllama.a" "$libs/ggml/src/libggml.a" "$libs/ggml/src/libggml-cpu.a" \
    "$libs/ggml/src/libggml-base.a" -fopenmp -lpthread -ldl -lm -o "$llama/bin/llama-greedy.tmp"
  mv "$llama/bin/llama-greedy.tmp" "$llama/bin/llama-greedy"
fi
echo "setup: peers ready under $build" >&2

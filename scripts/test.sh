#!/usr/bin/env bash
# Set-up, build, then every test: the GoogleTest unit tests (ctest) and the
# lit suite. Prints both runners' summaries; fails if either fails.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="/usr/lib/llvm-22/bin:$PATH"

status=0
echo "== ctest (unit tests) =="
ctest --test-dir build --output-on-failure -j2 || status=1
echo "== lit (FileCheck suite) =="
lit -sv build/test || status=1
exit $status

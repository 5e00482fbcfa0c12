#!/usr/bin/env bash
# Every test, from a fresh machine: installs what is missing, builds, runs the
# single-process suite (swift test) and the multi-rank scripts under Tests/mpi.
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
start=$(date +%s)
swift build -c release
echo "test: release build took $(( $(date +%s) - start ))s"

# The test process runs the BLAS kernel the program itself chooses on this CPU.
export OPENBLAS_CORETYPE="$(.build/release/ddp-train doctor --blas-coretype)"
echo "test: OpenBLAS kernel $OPENBLAS_CORETYPE"
start=$(date +%s)
swift test -c release --parallel --num-workers 2
echo "test: swift test took $(( $(date +%s) - start ))s"

start=$(date +%s)
for t in Tests/mpi/test-*.sh; do
  echo "test: $t"
  bash "$t"
done
echo "test: multi-rank tests took $(( $(date +%s) - start ))s"
echo "test: all passed"

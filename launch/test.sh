#!/usr/bin/env bash
# Every test, from a fresh machine: installs what is missing, builds, runs the
# single-process suite (swift test), the multi-rank scripts under Tests/mpi (Tests/mpi/run.sh; the
# hostile-input set among them), the fuzz targets (Tests/fuzz/run.sh), the single-process suite under ASan
# and TSan, then the numerics-sensitive tests again under every other OpenBLAS sgemm kernel (with the
# im2col convolutions, which run on OpenBLAS) and, on AVX-512 machines, with oneDNN held to AVX2.
#
# TEST_KERNELS: "all" (default: every kernel `ddp-train doctor --blas-kernels` lists),
# "none", or a list such as "Haswell SkylakeX". A user's OPENBLAS_CORETYPE is honoured
# for the main run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
# One release build of the program and the tests together: `swift test -c release` compiles every
# module again with testability when the program was built without it (about as long as the
# build), so the build enables it and every release `swift test` below runs with --skip-build.
start=$(date +%s)
swift build -c release --build-tests -Xswiftc -enable-testing
echo "test: release build took $(( $(date +%s) - start ))s"

# The test process runs the BLAS kernel the program runs: the user's OPENBLAS_CORETYPE, or
# the one the program chooses on this CPU.
export OPENBLAS_CORETYPE="$(.build/release/ddp-train doctor --blas-coretype)"
echo "test: OpenBLAS kernel $OPENBLAS_CORETYPE"
start=$(date +%s)
swift test -c release --skip-build --parallel --num-workers 2
echo "test: swift test took $(( $(date +%s) - start ))s"

# The multi-rank scripts, two at a time where they can share the machine (Tests/mpi/run.sh).
start=$(date +%s)
bash Tests/mpi/run.sh
echo "test: multi-rank tests took $(( $(date +%s) - start ))s"

# libFuzzer on every reader of outside input, for a bounded time (FUZZ_SECONDS per target).
bash Tests/fuzz/run.sh

# The single-process suite under AddressSanitizer and ThreadSanitizer (Tests/sanitizers/run.sh;
# SANITIZERS=none skips them).
if [ "${SANITIZERS:-all}" != none ]; then
  start=$(date +%s)
  bash Tests/sanitizers/run.sh
  echo "test: sanitizers took $(( $(date +%s) - start ))s"
fi

runnable=" $(.build/release/ddp-train doctor --blas-kernels | tr '\n' ' ') "
kernels=${TEST_KERNELS:-all}
[ "$kernels" = all ] && kernels=$runnable
[ "$kernels" = none ] && kernels=""
# Kernels with the same single-precision code run once: OpenBLAS's Zen target takes Haswell's
# sgemm kernel, and Cooperlake is SkylakeX plus bf16 kernels (sbgemm) the program never calls.
sgemm_family() { case "${1,,}" in zen) echo haswell ;; cooperlake) echo skylakex ;; *) echo "${1,,}" ;; esac; }
done_families=" $(sgemm_family "$OPENBLAS_CORETYPE") "
start=$(date +%s)
for k in $kernels; do
  family=$(sgemm_family "$k")
  [[ "$done_families" == *" $family "* ]] && continue
  if [[ "$runnable" != *" $k "* ]]; then
    echo "test: skipping OPENBLAS_CORETYPE=$k: this CPU cannot run it (it can run:$runnable)"
    continue
  fi
  done_families+="$family "
  echo "test: numerics under OPENBLAS_CORETYPE=$k, im2col convolutions"
  export DDP_TRAIN_NO_ONEDNN=1
  OPENBLAS_CORETYPE=$k swift test -c release --skip-build --parallel --num-workers 2 --filter 'TensorTests|NNTests|LossesTests|ExplainTests|TrainingTests' --skip 'TorchvisionGoldenTests'
  OPENBLAS_CORETYPE=$k EQ_LOSS_TERMS=none bash Tests/mpi/test-equivalence.sh
  # The explanation maps against captum and pytorch-grad-cam: gradients through max pooling must
  # not depend on how the kernel rounds ties.
  OPENBLAS_CORETYPE=$k .build/release/ddp-train verify-explanations Tests/golden/explain/explain.json | tail -1 | grep -qE "^58 passed, 0 failed$" \
    || { echo "FAIL: verify-explanations under OPENBLAS_CORETYPE=$k" >&2; exit 1; }
  unset DDP_TRAIN_NO_ONEDNN
done
# oneDNN's AVX2 kernels (what an AVX2-only machine runs) where it would pick AVX-512 ones.
isa=$(.build/release/ddp-train doctor --json | python3 -c "import json, sys; print(json.load(sys.stdin)['ranks'][0]['onednn_isa'])")
if [ -n "$kernels" ] && [[ "$isa" == avx512* ]]; then
  echo "test: numerics under ONEDNN_MAX_CPU_ISA=AVX2"
  export ONEDNN_MAX_CPU_ISA=AVX2
  # The layers against im2col and finite differences, the models' gradients, the explanation
  # goldens; the N-rank equivalence runs above are the mlp's products but for two cases.
  swift test -c release --skip-build --parallel --num-workers 2 --filter 'NNTests|ExplainTests|TrainingTests' --skip 'TorchvisionGoldenTests'
  .build/release/ddp-train verify-explanations Tests/golden/explain/explain.json | tail -1 | grep -qE "^58 passed, 0 failed$" \
    || { echo "FAIL: verify-explanations under ONEDNN_MAX_CPU_ISA=AVX2" >&2; exit 1; }
  unset ONEDNN_MAX_CPU_ISA
fi
[ -n "$kernels" ] && echo "test: other kernels took $(( $(date +%s) - start ))s"
echo "test: all passed"

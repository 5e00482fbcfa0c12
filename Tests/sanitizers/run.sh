#!/usr/bin/env bash
# The single-process suite under AddressSanitizer and ThreadSanitizer: debug builds of their own
# (.build-asan, .build-tsan), built first, then the tests run on them (--skip-build).
# `run.sh build` only builds them, `run.sh test` runs the builds there are, `run.sh` does
# both. The one suppression (lsan.supp) is a leak inside Foundation.
#
# The tests run without oneDNN (DDP_TRAIN_NO_ONEDNN, the im2col path): ThreadSanitizer cannot
# see the synchronisation inside libgomp, which is not instrumented, and would report its
# threads' work.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-all}
case $mode in build | test | all) ;; *) echo "usage: $0 [build|test|all]" >&2; exit 64 ;; esac

for pair in address:asan thread:tsan; do
  sanitizer=${pair%:*} scratch=.build-${pair#*:}
  if [ "$mode" != test ]; then
    swift build --build-tests --sanitize=$sanitizer --scratch-path "$scratch" 2>&1 | grep -E "error:|complete" | tail -3
  fi
  if [ "$mode" != build ]; then
    # grep keeps the summary lines and every report; the pipeline fails with the tests.
    DDP_TRAIN_NO_ONEDNN=1 LSAN_OPTIONS=suppressions=$PWD/Tests/sanitizers/lsan.supp \
      swift test --skip-build --sanitize=$sanitizer --scratch-path "$scratch" --parallel --num-workers 2 2>&1 \
      | grep -E "error|Test run with|SUMMARY|ERROR|WARNING"
  fi
done

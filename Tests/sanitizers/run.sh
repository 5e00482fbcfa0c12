#!/usr/bin/env bash
# The single-process suite under AddressSanitizer and ThreadSanitizer: debug builds of their own
# (.build-asan, .build-tsan), built first, then the tests run on them (--skip-build). The one
# suppression (lsan.supp) is a leak inside Foundation.
#
# The tests run without oneDNN (DDP_TRAIN_NO_ONEDNN, the im2col path): ThreadSanitizer cannot
# see the synchronisation inside libgomp, which is not instrumented, and would report its
# threads' work.
set -euo pipefail
cd "$(dirname "$0")/../.."

for pair in address:asan thread:tsan; do
  sanitizer=${pair%:*} scratch=.build-${pair#*:}
  swift build --build-tests --sanitize=$sanitizer --scratch-path "$scratch" 2>&1 | grep -E "error:|complete" | tail -3
  # grep keeps the summary lines and every report; the pipeline fails with the tests.
  DDP_TRAIN_NO_ONEDNN=1 LSAN_OPTIONS=suppressions=$PWD/Tests/sanitizers/lsan.supp \
    swift test --skip-build --sanitize=$sanitizer --scratch-path "$scratch" --parallel --num-workers 2 2>&1 \
    | grep -E "error|Test run with|SUMMARY|ERROR|WARNING"
done

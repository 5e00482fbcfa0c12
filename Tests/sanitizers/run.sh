#!/usr/bin/env bash
# The single-process suite under AddressSanitizer and ThreadSanitizer: debug builds of their own
# (.build-asan, .build-tsan), built first, then the tests run on them (--skip-build). The one
# suppression (lsan.supp) is a leak inside Foundation.
#
# The tests run without oneDNN (DDP_TRAIN_NO_ONEDNN, the im2col path): ThreadSanitizer cannot
# see the synchronisation inside libgomp, which is not instrumented, and would report its
# threads' work. The torchvision models' numerics (TorchvisionGoldenTests, the 1000-class
# parameter counts, the finite differences of resnet10 and ResNeXt-50, the overwritten gradients
# of ResNet-18, -34 and -50) are left to the release runs: in a debug build they take tens of
# minutes, and they exercise the same layers as the small layer and model tests that do run here.
# ThreadSanitizer, about ten times slower, also leaves out resnet32's finite differences and the
# every-architecture backward pass (OverwriteModeTests): their threads are the layers' parallel
# loops, which the layer tests run.
set -euo pipefail
skip='TorchvisionGoldenTests|torchvisionParameterCounts|ModelGradientTests/resnext50|ModelGradientTests/resnet10'
skip+='|deeperModelsOverwriteEveryGradient'
tsan_skip="$skip|ModelGradientTests/resnet32|OverwriteModeTests"
cd "$(dirname "$0")/../.."

for pair in address:asan thread:tsan; do
  sanitizer=${pair%:*} scratch=.build-${pair#*:}
  [ "$sanitizer" = thread ] && skip=$tsan_skip
  swift build --build-tests --sanitize=$sanitizer --scratch-path "$scratch" 2>&1 | grep -E "error:|complete" | tail -3
  # grep keeps the summary lines and every report; the pipeline fails with the tests.
  DDP_TRAIN_NO_ONEDNN=1 LSAN_OPTIONS=suppressions=$PWD/Tests/sanitizers/lsan.supp \
    swift test --skip-build --sanitize=$sanitizer --scratch-path "$scratch" --parallel --num-workers 2 --skip "$skip" 2>&1 \
    | grep -E "error|Test run with|SUMMARY|ERROR|WARNING"
done

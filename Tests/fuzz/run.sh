#!/usr/bin/env bash
# Fuzzes every reader of outside input with libFuzzer (Sources/fuzz-inputs, built with
# -sanitize=fuzzer,address): IDX images and labels, .npy, CIFAR, checkpoints (with their
# manifests), safetensors, TOML and JSON config files. Each target first replays its committed
# regression inputs (Tests/fuzz/regressions/TARGET/), then runs FUZZ_SECONDS (default 10) from
# a small seed corpus; as many targets run at a time as there are cores. A crash, a sanitizer
# report or an input slower than 10 s fails the run and is copied into
# Tests/fuzz/regressions/TARGET/ to be committed with its fix.
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
targets=(idx-images idx-labels npy cifar checkpoint safetensors config-toml config-json)

start=$(date +%s)
# gold cannot link libFuzzer's whole archive beside SwiftPM's renamed entry point: lld can.
swift build -c release --scratch-path .build-fuzz --product fuzz-inputs \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld 2>&1 | grep -E "error:|Compiling|complete" | tail -3
FUZZER="$PWD/.build-fuzz/release/fuzz-inputs"
echo "fuzz: build took $(( $(date +%s) - start ))s"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# A real checkpoint's manifest for the checkpoint seed (the release binary is built by now).
python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 64 16 > /dev/null
.build/release/ddp-train --data "$TMP/data" --imbalance-ratio 1 --batch-size 32 --max-steps 1 --epochs 1 --threads 1 \
  --run-dir "$TMP/run" > /dev/null 2>&1 || { echo "fuzz: could not make a checkpoint for the seeds" >&2; exit 1; }
python3 Tests/fuzz/make_seeds.py "$TMP/seeds" "$(ls "$TMP"/run/checkpoints/*.ckpt | tail -1)"

# fuzz_one TARGET: replays TARGET's regression inputs, then fuzzes it; prints what it found and
# fails when it found something.
fuzz_one() {
  local target=$1 regressions="Tests/fuzz/regressions/$1" code runs
  mkdir -p "$TMP/corpus/$target" "$TMP/artifacts/$target"
  cp "$TMP/seeds/$target"/* "$TMP/corpus/$target/"
  export DDP_FUZZ_TARGET=$target TMPDIR=$TMP
  if compgen -G "$regressions/*" > /dev/null; then
    if ! "$FUZZER" -rss_limit_mb=4096 -timeout=10 "$regressions"/* > "$TMP/$target-regressions.log" 2>&1; then
      echo "fuzz: $target: a regression input fails again:"; tail -20 "$TMP/$target-regressions.log"
      return 1
    fi
    cp "$regressions"/* "$TMP/corpus/$target/"
  fi
  set +e
  "$FUZZER" -max_total_time="$FUZZ_SECONDS" -max_len=16384 -rss_limit_mb=4096 -timeout=10 -seed=14 \
    -artifact_prefix="$TMP/artifacts/$target/" "$TMP/corpus/$target" > "$TMP/$target.log" 2>&1
  code=$?
  set -e
  runs=$(grep -oE "Done [0-9]+ runs in [0-9]+ second" "$TMP/$target.log" | tail -1 || true)
  if [ "$code" -ne 0 ] || compgen -G "$TMP/artifacts/$target/*" > /dev/null; then
    mkdir -p "$regressions"
    cp "$TMP/artifacts/$target"/* "$regressions/" 2>/dev/null || true
    echo "fuzz: $target FAILED (exit $code); inputs saved in $regressions:"
    grep -m3 -E "ERROR|Fatal|panic|deadly|timeout" "$TMP/$target.log" || tail -15 "$TMP/$target.log"
    return 1
  fi
  echo "fuzz: $target: ${runs:-no count} s, no crash ($(ls "$regressions" 2>/dev/null | wc -l) regression inputs replayed)"
}

# libFuzzer runs one process per target: as many targets at a time as there are cores, each
# for FUZZ_SECONDS; their reports are printed in the targets' order.
failed=0
parallel=$(nproc)
for ((first = 0; first < ${#targets[@]}; first += parallel)); do
  batch=("${targets[@]:first:parallel}")
  pids=()
  for target in "${batch[@]}"; do
    fuzz_one "$target" > "$TMP/$target.report" 2>&1 &
    pids+=($!)
  done
  for i in "${!batch[@]}"; do
    wait "${pids[$i]}" || failed=1
    cat "$TMP/${batch[$i]}.report"
  done
done
echo "fuzz: took $(( $(date +%s) - start ))s"
exit $failed

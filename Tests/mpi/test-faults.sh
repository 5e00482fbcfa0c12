#!/usr/bin/env bash
# A rank killed with SIGKILL ends the whole job (no rank hangs), well within 30 seconds.
source "$(dirname "$0")/common.bash"

run 2 --epochs 200 --run-dir "$TMP/kill" --threads 1 > "$TMP/kill.log" 2>&1 &
launcher=$!
victim=""
for _ in $(seq 1 100); do
  # The ranks: processes named ddp-train whose command line holds this run directory.
  for p in $(pgrep -f -- "--run-dir $TMP/kill" || true); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "ddp-train" ] && victim=$p
  done
  if [ -n "$victim" ] && [ -f "$TMP/kill/config.json" ]; then break; fi
  sleep 0.2
done
[ -n "$victim" ] || fail "no rank to kill"
start=$(date +%s)
kill -9 "$victim"
if ! timeout 30 bash -c "while kill -0 $launcher 2>/dev/null; do sleep 0.2; done"; then
  kill -9 $launcher 2>/dev/null || true
  fail "the job still runs 30 s after a rank was killed"
fi
wait $launcher && fail "the job exited 0 after a rank was killed" || true
pass "a killed rank ended the job in $(( $(date +%s) - start ))s"

# A bad data directory on every rank: one clear message from rank 0, exit 1, nothing written.
mkdir -p "$TMP/bad"
printf 'x' > "$TMP/bad/something.txt"
if run 2 --data "$TMP/bad" --run-dir "$TMP/bad-run" > "$TMP/bad.log" 2>&1; then fail "bad data accepted"; fi
grep -q "no data set layout recognised" "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "no clear message"; }
[ "$(grep -c "no data set layout recognised" "$TMP/bad.log")" -eq 1 ] || fail "the message was printed by more than one rank"
[ ! -e "$TMP/bad-run" ] || fail "the run directory was created for a failed start"
pass "bad data on 2 ranks: one message, non-zero exit, no run directory"

# Non-finite gradients on one rank: every rank skips those steps together and counts them.
DDP_TRAIN_FAULT_NAN="1:20-22" run 2 --epochs 1 --threads 1 --run-dir "$TMP/nan" > "$TMP/nan.log" 2>&1 \
  || { cat "$TMP/nan.log"; fail "a run with 3 NaN steps on rank 1 failed"; }
python3 - "$TMP/nan/metrics.jsonl" <<'PY' || fail "skipped steps not counted"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["skipped_steps"] == 3, lines[0]["skipped_steps"]
assert lines[-1]["event"] == "done" and lines[-1]["skipped_steps"] == 3, lines[-1]
PY
[ "$(grep -c "every rank skips this step" "$TMP/nan.log")" -eq 3 ] || { cat "$TMP/nan.log"; fail "expected 3 skip warnings from rank 0"; }
pass "NaN gradients on rank 1 in 3 steps: every rank skipped them, 3 counted"

DDP_TRAIN_FAULT_NAN="1:5-1000" run 2 --epochs 1 --threads 1 --run-dir "$TMP/nan10" > "$TMP/nan10.log" 2>&1 \
  && fail "a run with endless NaN gradients did not stop"
grep -q "10 consecutive steps had a non-finite loss or gradient" "$TMP/nan10.log" || { cat "$TMP/nan10.log"; fail "no message after 10 skips"; }
[ "$(grep -c "consecutive steps" "$TMP/nan10.log")" -eq 1 ] || fail "the stop message came from more than one rank"
pass "NaN gradients on rank 1 for good: the job stops after 10 consecutive skips with one message"

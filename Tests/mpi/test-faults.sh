#!/usr/bin/env bash
# A rank killed with SIGKILL ends the whole job (no rank hangs). The bounds below only
# tell a hang from a slow machine: starting may take minutes on a loaded one, and the
# job's end is reported with the seconds it took, not judged by them.
source "$(dirname "$0")/common.bash"

# find_rank RUN_DIR: sets `victim` to a rank (a process named ddp-train whose command line
# holds RUN_DIR); succeeds once there is one and the job trains (config.json is written).
find_rank() {
  victim=""
  for p in $(pgrep -f -- "--run-dir $1" || true); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "ddp-train" ] && victim=$p
  done
  [ -n "$victim" ] && [ -f "$1/config.json" ]
}
launcher_gone() { ! kill -0 "$launcher" 2>/dev/null; }

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds; fails after SECONDS.
wait_for() {
  local limit=$1; shift
  local deadline=$(( $(date +%s) + limit ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

run 2 --epochs 200 --run-dir "$TMP/kill" --threads 1 > "$TMP/kill.log" 2>&1 &
launcher=$!
wait_for 300 find_rank "$TMP/kill" || { kill -9 $launcher 2>/dev/null || true; cat "$TMP/kill.log"; fail "the job did not start training within 300 s"; }
start=$(date +%s)
kill -9 "$victim"
if ! wait_for 300 launcher_gone; then
  kill -9 $launcher 2>/dev/null || true
  fail "the job still runs 300 s after a rank was killed: it hangs"
fi
wait $launcher && fail "the job exited 0 after a rank was killed" || true
pass "a killed rank ended the job in $(( $(date +%s) - start ))s"

# The killed job's lock file is still there, but no process holds it: a new job may resume.
[ -f "$TMP/kill/lock" ] || fail "the killed job left no lock file (was the lock taken?)"
run 1 --run-dir "$TMP/kill" --resume auto --epochs 200 --max-steps 1 --threads 1 > "$TMP/after-kill.log" 2>&1 \
  || { cat "$TMP/after-kill.log"; fail "the lock of a killed job blocked a new one"; }
pass "a lock left by a killed job (kill -9) does not block the next job"

# Two jobs on one run directory: the second is refused, naming the holder; the first's files stay.
run 1 --epochs 200 --run-dir "$TMP/busy" --threads 1 > "$TMP/busy.log" 2>&1 &
holder=$!
busy_started() { [ -f "$TMP/busy/config.json" ] && [ -f "$TMP/busy/lock" ]; }
wait_for 300 busy_started || { kill $holder; cat "$TMP/busy.log"; fail "the first job did not start"; }
before=$(md5sum "$TMP/busy/config.json")
if run 1 --epochs 1 --lr 0.5 --run-dir "$TMP/busy" --threads 1 > "$TMP/second.log" 2>&1; then
  kill $holder; fail "a second job on a busy run directory was accepted"
fi
grep -q "in use by another job (pid [0-9]* on " "$TMP/second.log" || { kill $holder; cat "$TMP/second.log"; fail "no message naming the holder"; }
[ "$(md5sum "$TMP/busy/config.json")" = "$before" ] || { kill $holder; fail "the second job changed the first's config.json"; }
kill -TERM $holder; wait $holder 2>/dev/null || true
pass "a second job on a busy run directory is refused with the holder named; the first job's files are untouched"

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

# A skipped step leaves the loss terms' state: center loss's centres stay zero when every
# step is skipped, and move after one step taken.
centre_norm() { "$BIN" inspect "$(ls "$1"/checkpoints/*.ckpt | tail -1)" | awk '/loss\/center_loss.centers/ { print $NF }'; }
center=(--loss ce --metric-loss center --threads 1)
DDP_TRAIN_FAULT_NAN="1:0-2" run 2 "${center[@]}" --max-steps 3 --run-dir "$TMP/cnan" > "$TMP/cnan.log" 2>&1 \
  || { cat "$TMP/cnan.log"; fail "a center-loss run with 3 skipped steps failed"; }
run 2 "${center[@]}" --max-steps 1 --run-dir "$TMP/cone" > /dev/null 2>&1 || fail "a center-loss run of one step failed"
[ "$(centre_norm "$TMP/cnan")" = "0" ] || fail "skipped steps moved the centres (norm $(centre_norm "$TMP/cnan"))"
[ "$(centre_norm "$TMP/cone")" != "0" ] || fail "one step taken did not move the centres"
pass "center loss: skipped steps leave the centres, a step taken moves them"

DDP_TRAIN_FAULT_NAN="1:5-1000" run 2 --epochs 1 --threads 1 --run-dir "$TMP/nan10" > "$TMP/nan10.log" 2>&1 \
  && fail "a run with endless NaN gradients did not stop"
grep -q "10 consecutive steps had a non-finite loss or gradient" "$TMP/nan10.log" || { cat "$TMP/nan10.log"; fail "no message after 10 skips"; }
[ "$(grep -c "consecutive steps" "$TMP/nan10.log")" -eq 1 ] || fail "the stop message came from more than one rank"
pass "NaN gradients on rank 1 for good: the job stops after 10 consecutive skips with one message"

# A stopped rank (kill -STOP) would leave the other waiting in a collective forever: the stall
# watchdog ends the whole job with one message once no step completed for --stall-timeout.
run 2 --epochs 200 --threads 1 --stall-timeout 5 --run-dir "$TMP/stall" > "$TMP/stall.log" 2>&1 &
launcher=$!
wait_for 300 find_rank "$TMP/stall" || { kill -9 $launcher 2>/dev/null || true; cat "$TMP/stall.log"; fail "the stall job did not start"; }
kill -STOP "$victim"
start=$(date +%s)
if ! wait_for 300 launcher_gone; then
  kill -9 "$victim" $launcher 2>/dev/null || true
  fail "the job still runs 300 s after a rank was stopped: the watchdog did not end it"
fi
kill -9 "$victim" 2>/dev/null || true
wait $launcher && fail "the job exited 0 after a rank was stopped" || true
grep -q "no training step completed for [0-9]* s (--stall-timeout 5.0)" "$TMP/stall.log" || { cat "$TMP/stall.log"; fail "no watchdog message"; }
pass "a stopped rank: the stall watchdog ended the job $(( $(date +%s) - start ))s later with a message"

#!/usr/bin/env bash
# A rank killed with SIGKILL ends the whole job (no rank hangs). The bounds below only
# tell a hang from a slow machine: starting may take minutes on a loaded one, and the
# job's end is reported with the seconds it took, not judged by them.
source "$(dirname "$0")/common.bash"

# find_rank RUN_DIR: sets `victim` to a rank (a process of the program whose command line
# holds RUN_DIR); succeeds once there is one and the job trains (config.json is written).
find_rank() {
  victim=""
  for p in $(ranks_of "--run-dir $1"); do victim=$p; done
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
# A rank keeps the program's name (ps, pgrep -x, Slurm's accounting), also where it re-executed
# itself for OpenBLAS (always under DDP_TRAIN_FORCE_REEXEC=1, which launch/test.sh sets here).
name=$(basename "$(readlink -f "$BIN")" | cut -c1-15)
[ "$(cat /proc/"$victim"/comm)" = "$name" ] || fail "a rank is named '$(cat /proc/"$victim"/comm)', not '$name'"
if [ "${DDP_TRAIN_FORCE_REEXEC:-}" = 1 ]; then
  tr '\0' '\n' < /proc/"$victim"/environ | grep -qx DDP_TRAIN_BLAS_REEXEC=1 \
    || fail "DDP_TRAIN_FORCE_REEXEC=1: the rank did not re-execute itself"
  pass "ranks re-executed for OpenBLAS keep their name ($name)"
fi
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

# find_rank_1 RUN_DIR: like find_rank, but sets `victim` to rank 1 (from its environment).
find_rank_1() {
  find_rank "$1" || return 1
  victim=""
  for p in $(ranks_of "--run-dir $1"); do
    tr '\0' '\n' < /proc/"$p"/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
  done
  [ -n "$victim" ]
}

# A stopped rank (kill -STOP) would leave the others waiting in a collective forever: the stall
# watchdog ends the whole job with one message once no step completed for --stall-timeout, and
# the flight records (each rank's last collectives) name rank 1 as the one behind.
run 3 --epochs 200 --threads 1 --stall-timeout 5 --run-dir "$TMP/stall" > "$TMP/stall.log" 2>&1 &
launcher=$!
wait_for 300 find_rank_1 "$TMP/stall" || { kill -9 $launcher 2>/dev/null || true; cat "$TMP/stall.log"; fail "the stall job did not start"; }
sleep 2
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
grep -q "^Rank 1 is behind. .*Waiting: rank 0 in #[0-9]* (.*epoch [0-9]*, step [0-9]*)" "$TMP/stall.log" || { cat "$TMP/stall.log"; fail "rank 0's stall message does not name rank 1 and the collective the others wait in"; }
[ "$(grep -c "is behind" "$TMP/stall.log")" -eq 1 ] || { cat "$TMP/stall.log"; fail "the flight account came from more than one rank"; }
for r in 0 2; do
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reason"]=="stall" and d["rank"]==int(sys.argv[2]) and d["collectives"][-1].get("end") is None' \
    "$TMP/stall/flight/rank-$r.json" "$r" || fail "rank $r's flight record is missing or does not end inside a collective"
done
"$BIN" flight "$TMP/stall" > "$TMP/flight.txt" || { cat "$TMP/flight.txt"; fail "ddp-train flight failed"; }
grep -q "^Rank 1 is behind" "$TMP/flight.txt" || { cat "$TMP/flight.txt"; fail "ddp-train flight does not name rank 1"; }
"$BIN" flight --json "$TMP/stall" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["behind"]==[1] and d["waiting"][:1]==[0] and d["collective"]["seq"]>0, d' \
  || fail "ddp-train flight --json: behind is not [1]"
"$BIN" flight "$TMP/nowhere" > "$TMP/flight-none.txt" 2>&1 && fail "ddp-train flight on a directory without records exited 0"
grep -q "no flight records here" "$TMP/flight-none.txt" || { cat "$TMP/flight-none.txt"; fail "no clear message for a directory without records"; }
pass "flight records: $(grep -o "^Rank 1 is behind.*" "$TMP/stall.log" | head -c 300)"

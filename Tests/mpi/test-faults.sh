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

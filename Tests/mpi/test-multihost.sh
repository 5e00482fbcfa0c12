#!/usr/bin/env bash
# Several "hosts" on one machine: network namespaces joined by a bridge, each with its own
# address and (UTS namespace) host name; mpirun starts the remote ranks through an rsh agent
# that enters the host's namespaces; TCP only. Checks: 4 ranks on 2 hosts and 2 ranks on 2
# hosts train as one process; auto buckets resolve to overlapping across hosts (blocking on
# one); BLAS threads follow the ranks per host; doctor lists the hosts; a host whose link goes
# down (the stall watchdog) or whose processes are killed ends the job with a message, never a
# hang. The namespaces are removed on exit, also after a failure. Needs root.
source "$(dirname "$0")/common.bash"
EQ_TOL=${EQ_TOL:-2e-3}
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: test-multihost.sh needs root (it creates network and UTS namespaces)"
  exit 0
fi
if ! command -v ip > /dev/null; then
  echo "installing iproute2"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2; } > "$TMP/apt.log" 2>&1 \
    || { cat "$TMP/apt.log"; fail "could not install iproute2"; }
fi
source "$(dirname "$0")/netns.bash"
netns_up 2 || { echo "skip: this machine does not let root create network and UTS namespaces: $NETNS_ERROR"; exit 0; }

# doctor on 3 + 1 ranks: the hosts, and BLAS threads that follow the ranks per host.
mrun "$NET.1:3,$NET.2:1" 4 doctor --json > "$TMP/doctor.json" 2> "$TMP/doctor.err" || { cat "$TMP/doctor.err"; fail "doctor on 2 hosts"; }
one=$("$BIN" doctor --json 2> /dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['ranks'][0]['blas_threads'])")
three=$(run 3 doctor --json 2> /dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['ranks'][0]['blas_threads'])")
python3 - "$TMP/doctor.json" "$one" "$three" <<'PY' || fail "doctor on 2 hosts"
import json, sys
d = json.load(open(sys.argv[1]))
hosts = [r["host"] for r in d["ranks"]]
assert hosts == ["host1", "host1", "host1", "host2"], hosts
threads = [r["blas_threads"] for r in d["ranks"]]
assert threads == [int(sys.argv[3])] * 3 + [int(sys.argv[2])], (threads, sys.argv[2:])
PY
pass "doctor on 2 hosts lists host1 (3 ranks) and host2 (1 rank); BLAS threads per rank follow the ranks per host"

# Training across hosts equals one process (12 steps, the mlp; relative to the update).
python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 1201 300
common=(--data "$TMP/data" --imbalance-ratio 1 --loss ib --ib-start-epoch 0 --batch-size 120 --max-steps 12 --epochs 2
        --threads 1 --checkpoint-every 0 --no-report-explanations --no-tensorboard)
run 1 "${common[@]}" --max-steps 0 --run-dir "$TMP/init" > /dev/null 2>&1 || fail "initial weights"
run 1 "${common[@]}" --run-dir "$TMP/one" > /dev/null 2>&1 || fail "one process"
for layout in "$NET.1:2,$NET.2:2 4" "$NET.1:1,$NET.2:1 2"; do
  set -- $layout
  mrun "$1" "$2" "${common[@]}" --run-dir "$TMP/hosts-$2" > "$TMP/hosts-$2.log" 2>&1 || { cat "$TMP/hosts-$2.log"; fail "$2 ranks on 2 hosts"; }
  diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/one/final.safetensors" "$TMP/hosts-$2/final.safetensors" "$EQ_TOL" --init "$TMP/init/final.safetensors") \
    || fail "$2 ranks on 2 hosts differ from one process by $diff of the update"
  grep -q '"bucket-mode" : "overlap"' "$TMP/hosts-$2/config.json" || fail "config.json of $2 ranks on 2 hosts does not record overlapping buckets"
done
run 2 "${common[@]}" --run-dir "$TMP/onehost" > /dev/null 2>&1 || fail "2 ranks on one host"
grep -q '"bucket-mode" : "blocking"' "$TMP/onehost/config.json" || fail "config.json on one host does not record blocking buckets"
pass "4 ranks (2 + 2) and 2 ranks (1 + 1) on 2 hosts over TCP train as one process ($diff of the update); auto buckets resolve to overlap across hosts, blocking on one"

# A host whose link goes down: the stall watchdog ends the job with a message.
long=(--data "$TMP/data" --imbalance-ratio 1 --epochs 1000 --batch-size 120 --threads 1 --checkpoint-every 0 --stall-timeout 8
      --no-report-explanations --no-tensorboard)
mrun "$NET.1:1,$NET.2:1" 2 "${long[@]}" --run-dir "$TMP/down" > "$TMP/down.log" 2>&1 &
job=$!
for _ in $(seq 1 60); do grep -q "epoch 2/1000" "$TMP/down.log" 2> /dev/null && break; sleep 1; done
grep -q "epoch 2/1000" "$TMP/down.log" || { cat "$TMP/down.log"; fail "the 2-host job did not start training"; }
netns_link 2 down
status=0; wait $job || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat "$TMP/down.log"; fail "link down: the job did not end by itself (exit $status)"; }
grep -q "no training step completed for" "$TMP/down.log" || { cat "$TMP/down.log"; fail "link down: no stall message"; }
netns_link 2 up
pass "host 2's link down: the stall watchdog ends the job with a message (exit $status)"
# Both ranks wait inside a collective, so the flight records say the ranks could not reach one
# another rather than blaming one of them.
grep -q "^Every rank .*could not reach one another" "$TMP/down.log" || { cat "$TMP/down.log"; fail "link down: the flight account does not say the ranks could not reach one another"; }
"$BIN" flight --json "$TMP/down" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["behind"]==[] and d["waiting"]==[0,1], d' \
  || fail "link down: ddp-train flight --json does not show both ranks waiting and none behind"
pass "link down: $(grep -o "^Every rank [^:]*" "$TMP/down.log")"

# A host whose processes are killed: the job ends with a message.
mrun "$NET.1:1,$NET.2:1" 2 "${long[@]}" --run-dir "$TMP/killed" > "$TMP/killed.log" 2>&1 &
job=$!
for _ in $(seq 1 60); do grep -q "epoch 2/1000" "$TMP/killed.log" 2> /dev/null && break; sleep 1; done
for pid in $(netns_pids 2); do kill -9 "$pid" 2> /dev/null || true; done
status=0; wait $job || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat "$TMP/killed.log"; fail "killed host: the job did not end by itself (exit $status)"; }
grep -qiE "killed|terminated|lost|abort|no training step" "$TMP/killed.log" || { cat "$TMP/killed.log"; fail "killed host: no message"; }
pass "host 2's processes killed: the job ends with a message (exit $status)"

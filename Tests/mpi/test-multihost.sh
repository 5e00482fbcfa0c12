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
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 > "$TMP/apt.log" 2>&1 \
    || { cat "$TMP/apt.log"; fail "could not install iproute2"; }
fi
P="ddp$$"                      # namespace and link names of this run
if ! ip netns add "${P}probe" 2> "$TMP/netns.err" || ! ip netns exec "${P}probe" unshare --uts true 2>> "$TMP/netns.err"; then
  ip netns del "${P}probe" 2> /dev/null || true
  echo "skip: this machine does not let root create network and UTS namespaces: $(head -1 "$TMP/netns.err")"
  exit 0
fi
ip netns del "${P}probe"

NET="10.231.$(( $$ % 200 + 20 ))"  # a private /24 that only these namespaces hold
HOSTS=2
cleanup() {
  for i in $(seq 1 $HOSTS); do
    for pid in $(ip netns pids "${P}h$i" 2> /dev/null); do kill -9 "$pid" 2> /dev/null || true; done
    ip netns del "${P}h$i" 2> /dev/null || true
  done
  ip netns del "${P}sw" 2> /dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "${P}sw"
ip -n "${P}sw" link add br0 type bridge
ip -n "${P}sw" link set br0 up
for i in $(seq 1 $HOSTS); do
  ip netns add "${P}h$i"
  ip link add "${P}e$i" type veth peer name "${P}s$i"
  ip link set "${P}e$i" netns "${P}h$i"
  ip link set "${P}s$i" netns "${P}sw"
  ip -n "${P}sw" link set "${P}s$i" master br0 up
  ip -n "${P}h$i" addr add "$NET.$i/24" dev "${P}e$i"
  ip -n "${P}h$i" link set "${P}e$i" up
  ip -n "${P}h$i" link set lo up
  # TCP gives up on unanswered data after a few seconds instead of ~15 minutes (retries2 15):
  # mpirun's abort messages to a host whose link is down would otherwise wait that long.
  ip netns exec "${P}h$i" sh -c 'echo 5 > /proc/sys/net/ipv4/tcp_retries2'
done

# The rsh agent: the host is an address; the command is one shell string (rsh's contract).
cat > "$TMP/agent.sh" <<AGENT
#!/bin/sh
host=\$1; shift
i=\${host##*.}
exec ip netns exec ${P}h\$i unshare --uts sh -c "hostname host\$i; \$*"
AGENT
chmod +x "$TMP/agent.sh"

# mrun "ADDR:SLOTS,..." N ARGS...: mpirun from host 1 over TCP only.
mrun() {
  local hosts=$1 n=$2; shift 2
  timeout 300 ip netns exec "${P}h1" unshare --uts sh -c 'hostname host1; exec "$@"' sh \
    mpirun --mca plm_rsh_agent "$TMP/agent.sh" --mca btl self,tcp --mca btl_tcp_if_include "$NET.0/24" \
    --mca oob_tcp_if_include "$NET.0/24" --mca oob_tcp_keepalive_time 15 --mca oob_tcp_keepalive_intvl 3 \
    --mca oob_tcp_keepalive_probes 3 --host "$hosts" -n "$n" --oversubscribe --bind-to none "$BIN" "$@"
}

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
ip -n "${P}h2" link set "${P}e2" down
status=0; wait $job || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat "$TMP/down.log"; fail "link down: the job did not end by itself (exit $status)"; }
grep -q "no training step completed for" "$TMP/down.log" || { cat "$TMP/down.log"; fail "link down: no stall message"; }
ip -n "${P}h2" link set "${P}e2" up
pass "host 2's link down: the stall watchdog ends the job with a message (exit $status)"

# A host whose processes are killed: the job ends with a message.
mrun "$NET.1:1,$NET.2:1" 2 "${long[@]}" --run-dir "$TMP/killed" > "$TMP/killed.log" 2>&1 &
job=$!
for _ in $(seq 1 60); do grep -q "epoch 2/1000" "$TMP/killed.log" 2> /dev/null && break; sleep 1; done
for pid in $(ip netns pids "${P}h2"); do kill -9 "$pid" 2> /dev/null || true; done
status=0; wait $job || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat "$TMP/killed.log"; fail "killed host: the job did not end by itself (exit $status)"; }
grep -qiE "killed|terminated|lost|abort|no training step" "$TMP/killed.log" || { cat "$TMP/killed.log"; fail "killed host: no message"; }
pass "host 2's processes killed: the job ends with a message (exit $status)"

# Several "hosts" on one machine, for Tests/mpi/test-multihost.sh and benchmarks/slow-network.sh
# (sourced after common.bash, as root): network namespaces on a bridge, each with its own
# address NET.i and host name hostI (a UTS namespace per process tree), ranks started by
# mpirun on host 1 through an rsh agent, TCP only.
#
#   netns_up N      creates hosts 1..N (returns 1, with the reason in NETNS_ERROR, when root
#                   may not create namespaces here); removed again on exit
#   mrun "ADDR:SLOTS,..." N ARGS...   the binary under mpirun on those hosts
#   netns_link I up|down, netns_pids I, netns_dev I (host I's interface)

P="ddp$$"                          # namespace and link names of this run
NET="10.231.$(( $$ % 200 + 20 ))"  # a private /24 that only these namespaces hold
NETNS_HOSTS=0

netns_down() {
  for i in $(seq 1 $NETNS_HOSTS); do
    for pid in $(ip netns pids "${P}h$i" 2> /dev/null); do kill -9 "$pid" 2> /dev/null || true; done
    ip netns del "${P}h$i" 2> /dev/null || true
  done
  ip netns del "${P}sw" 2> /dev/null || true
}

netns_up() {
  if ! ip netns add "${P}probe" 2> "$TMP/netns.err" || ! ip netns exec "${P}probe" unshare --uts true 2>> "$TMP/netns.err"; then
    ip netns del "${P}probe" 2> /dev/null || true
    NETNS_ERROR=$(head -1 "$TMP/netns.err")
    return 1
  fi
  ip netns del "${P}probe"
  NETNS_HOSTS=$1
  trap 'netns_down; rm -rf "$TMP"' EXIT
  ip netns add "${P}sw"
  ip -n "${P}sw" link add br0 type bridge
  ip -n "${P}sw" link set br0 up
  for i in $(seq 1 "$1"); do
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
}

netns_dev() { echo "${P}e$1"; }
netns_link() { ip -n "${P}h$1" link set "${P}e$1" "$2"; }
netns_pids() { ip netns pids "${P}h$1"; }
netns_exec() { local i=$1; shift; ip netns exec "${P}h$i" "$@"; }

# mrun "ADDR:SLOTS,..." N ARGS...: mpirun from host 1 over TCP only.
mrun() {
  local hosts=$1 n=$2; shift 2
  ( export_psec; exec timeout 300 ip netns exec "${P}h1" unshare --uts sh -c 'hostname host1; exec "$@"' sh \
    mpirun --mca plm_rsh_agent "$TMP/agent.sh" --mca btl self,tcp --mca btl_tcp_if_include "$NET.0/24" \
    --mca oob_tcp_if_include "$NET.0/24" --mca oob_tcp_keepalive_time 15 --mca oob_tcp_keepalive_intvl 3 \
    --mca oob_tcp_keepalive_probes 3 --host "$hosts" -n "$n" --oversubscribe --bind-to none "$BIN" "$@" )
}

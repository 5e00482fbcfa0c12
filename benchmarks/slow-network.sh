#!/usr/bin/env bash
# What bucket overlap buys on a slow network: 2 "hosts" (network namespaces, TCP only, one rank
# each) with the bandwidth of each host's link limited by a token bucket (tc tbf), and for each
# model and bucket mode the step time and the exposed communication per step (ddp-train bench).
# Also the all-reduce fit over the namespaces (bench --allreduce) at full speed.
#
#   sudo bash benchmarks/slow-network.sh [RATE ...]     RATE as tc writes it (default: none 1gbit 100mbit)
#
# Environment: MODELS (default "mlp cnn resnet32"), STEPS (bench --steps, default 100),
# MODES (default "blocking overlap"), COMPRESSIONS (--grad-compression values, default "none bf16"),
# BENCH_ARGS (more bench options, e.g. "--bucket-first-mib 0.1").
# Prints a markdown table; needs root (namespaces) and a kernel with the tbf qdisc.
set -euo pipefail
source "$(dirname "$0")/../Tests/mpi/common.bash"
source Tests/mpi/netns.bash
netns_up 2 || { echo "slow-network: cannot create network namespaces here: $NETNS_ERROR" >&2; exit 1; }
[ $# -gt 0 ] || set -- none 1gbit 100mbit
MODELS=${MODELS:-"mlp cnn resnet32"}
STEPS=${STEPS:-100}
MODES=${MODES:-"blocking overlap"}
COMPRESSIONS=${COMPRESSIONS:-"none bf16"}
hosts="$NET.1:1,$NET.2:1"

mrun "$hosts" 2 bench --allreduce --threads 1 > "$TMP/allreduce.txt" 2> /dev/null || { echo "bench --allreduce failed" >&2; exit 1; }
echo "TCP between 2 network namespaces (veth + bridge), 2 ranks:"
sed 's/^/    /' "$TMP/allreduce.txt"
echo
echo "| link rate | model | mode | gradients | MB / step | step ms | exposed comm ms / step | share of the step |"
echo "|---|---|---|---|---|---|---|---|"
for rate in "$@"; do
  for i in 1 2; do
    netns_exec "$i" tc qdisc del dev "$(netns_dev "$i")" root 2> /dev/null || true
    [ "$rate" = none ] || netns_exec "$i" tc qdisc add dev "$(netns_dev "$i")" root tbf rate "$rate" burst 256kb latency 100ms
  done
  for model in $MODELS; do
    for mode in $MODES; do
      for compression in $COMPRESSIONS; do
        mrun "$hosts" 2 bench --models "$model" --steps "$STEPS" --threads 1 --bucket-mode "$mode" --grad-compression "$compression" \
          ${BENCH_ARGS:-} --json > "$TMP/b.json" 2> "$TMP/b.err" || { cat "$TMP/b.err" >&2; exit 1; }
        python3 - "$TMP/b.json" "$rate" "$model" "$mode" "$compression" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["models"][0]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {sys.argv[5]} | {m['gradient_bytes_per_step'] / 1e6:.2f} | {m['step_ms']:.2f} | {m['exposed_comm_ms_per_step']:.2f} | {100 * m['exposed_comm_share']:.0f}% |")
PY
      done
    done
  done
done

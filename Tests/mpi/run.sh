#!/usr/bin/env bash
# Every multi-rank test script (Tests/mpi/test-*.sh), two at a time. Most of them spend much of
# their time on one core (a one-rank reference run, mpirun's start, the Python checks): one at a
# time they kept 1.0 of 2 cores busy on average, so a pair fills the machine better. While they
# share it, Open MPI's waiting ranks yield the core (mpi_yield_when_idle) rather than spin against
# the other script's. The scripts that time faults or stalls, or own machine-wide state (network
# namespaces, the Slurm and munge daemons), run alone after the pairs. Each script's output is
# printed whole when it ends, with its time; a failing script fails the run once the others in
# flight have finished. On a 2-core Ice Lake: 786 s, against 1,036 s one by one.
#
# MPI_TEST_JOBS: scripts at a time (default 2; 1 runs them one by one). MPI_TESTS: the scripts
# to run (default every Tests/mpi/test-*.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
alone=" test-chaos.sh test-faults.sh test-multihost.sh test-slurm.sh "
jobs=${MPI_TEST_JOBS:-2}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

declare -A script_of=() started_at=() log_of=()
launched=0
failed=()

# launch SCRIPT: starts it in the background, its output into its log.
launch() {
  local t=$1 log
  launched=$((launched + 1))
  log="$logs/$launched-$(basename "$t").log"
  case $t in
    # The fault and chaos tests run the program as a CPU that OpenBLAS does not know runs it:
    # re-executed at start, with no OPENBLAS_CORETYPE from outside.
    */test-faults.sh | */test-chaos.sh) env -u OPENBLAS_CORETYPE DDP_TRAIN_FORCE_REEXEC=1 bash "$t" ;;
    *) bash "$t" ;;
  esac > "$log" 2>&1 &
  script_of[$!]=$t
  log_of[$!]=$log
  started_at[$!]=$(date +%s)
}

# finish: waits for one running script and prints its output, its time and whether it failed.
finish() {
  local pid rc=0 t
  wait -n -p pid || rc=$?
  t=${script_of[$pid]}
  echo "test: $t"
  cat "${log_of[$pid]}"
  if [ "$rc" -ne 0 ]; then
    echo "test: $t FAILED (exit $rc)"
    failed+=("$t")
  fi
  echo "test: $t took $(( $(date +%s) - ${started_at[$pid]} ))s"
  unset "script_of[$pid]" "started_at[$pid]" "log_of[$pid]"
}

shared=() single=()
for t in ${MPI_TESTS:-Tests/mpi/test-*.sh}; do
  if [[ "$alone" == *" $(basename "$t") "* ]]; then single+=("$t"); else shared+=("$t"); fi
done
yielding=""
if [ "$jobs" -gt 1 ] && [ -z "${OMPI_MCA_mpi_yield_when_idle+set}" ]; then
  export OMPI_MCA_mpi_yield_when_idle=1 yielding=1
fi
for t in "${shared[@]}"; do
  while [ "${#script_of[@]}" -ge "$jobs" ]; do finish; done
  launch "$t"
done
while [ "${#script_of[@]}" -gt 0 ]; do finish; done
if [ -n "$yielding" ]; then unset OMPI_MCA_mpi_yield_when_idle; fi
for t in "${single[@]}"; do
  launch "$t"
  finish
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAIL: ${failed[*]}" >&2
  exit 1
fi

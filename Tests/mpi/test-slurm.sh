#!/usr/bin/env bash
# A real single-node Slurm (slurmctld, slurmd, munge; SlurmctldHost=localhost)
# runs cluster/slurm.sbatch with 2 tasks (srun --mpi=pmix); the run directory
# must hold the files of a finished run. Needs root (it installs and starts
# daemons); skipped otherwise, saying so.
source "$(dirname "$0")/common.bash"

if [ "$(id -u)" -ne 0 ]; then
  echo "skip: the Slurm test needs root (it installs and starts slurmctld, slurmd and munge)"
  exit 0
fi
need=()
for p in slurmctld slurmd slurm-client munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" > "$TMP/apt.log" 2>&1 \
    || { cat "$TMP/apt.log"; fail "could not install ${need[*]}"; }
fi

# munge: a key and the daemon.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
pgrep -x munged > /dev/null || su -s /bin/sh munge -c "/usr/sbin/munged" 2>/dev/null || /usr/sbin/munged --force
munge -n | unmunge > /dev/null || fail "munge does not work"

# A minimal cluster: this machine, its CPUs, one partition.
node=$(hostname -s)
cpus=$(nproc --all)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ddptest
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
CONF
pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
sleep 1
/usr/sbin/slurmctld -c || fail "slurmctld did not start"
/usr/sbin/slurmd -N "$node" || fail "slurmd did not start"
cleanup_slurm() { pkill -x slurmd 2>/dev/null || true; pkill -x slurmctld 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup_slurm EXIT
for _ in $(seq 1 30); do
  case "$(sinfo -h -o %T 2>/dev/null)" in *idle*|*mixed*) break ;; esac
  scontrol update nodename="$node" state=resume > /dev/null 2>&1 || true
  sleep 1
done
case "$(sinfo -h -o %T)" in
  *idle*|*mixed*) ;;
  *) sinfo; tail -20 /var/log/slurm/slurmctld.log; fail "the node is not idle" ;;
esac

# Submit the batch script with 2 tasks; wait; check the run directory.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
job=$(cd "$TMP" && RUN_DIR="$TMP/run" DDP_TRAIN_BIN="$BIN" sbatch --parsable --ntasks=2 --chdir="$TMP" \
  "$OLDPWD/cluster/slurm.sbatch" --epochs 2 --max-steps 150) || fail "sbatch refused the job"
for _ in $(seq 1 300); do
  state=$(sacct -n -X -j "$job" -o State 2>/dev/null | tr -d ' ' || true)
  [ -z "$state" ] && state=$(scontrol show job "$job" 2>/dev/null | grep -o "JobState=[A-Z]*" | cut -d= -f2)
  case "$state" in COMPLETED|FAILED|CANCELLED*|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
  sleep 1
done
out="$TMP/ddp-train-$job.out"
[ "$state" = "COMPLETED" ] || { cat "$out" 2>/dev/null; tail -20 /var/log/slurm/slurmd.log; fail "job $job ended $state"; }
for f in config.json metrics.jsonl final.safetensors report.html; do
  [ -s "$TMP/run/$f" ] || { cat "$out"; fail "run directory lacks $f"; }
done
grep -q '"world_size":2' "$TMP/run/metrics.jsonl" || { cat "$out"; fail "the job did not run on 2 ranks"; }
grep -q '"event":"done"' "$TMP/run/metrics.jsonl" || fail "the run did not finish"
pass "Slurm: sbatch --ntasks=2 cluster/slurm.sbatch trained on 2 ranks and wrote the run directory"

# Preemption: USR1 (what --signal=USR1@60 sends before the time limit) to the job's tasks. The
# run checkpoints at the next step and exits 143; the batch script requeues the job, which
# resumes (--resume auto) and finishes, every epoch in metrics.jsonl once.
epochs=12
job=$(cd "$TMP" && RUN_DIR="$TMP/pre" DDP_TRAIN_BIN="$BIN" sbatch --parsable --ntasks=2 --chdir="$TMP" \
  "$OLDPWD/cluster/slurm.sbatch" --epochs $epochs --checkpoint-every 1 --no-report-explanations) || fail "sbatch refused the preemption job"
for _ in $(seq 1 600); do grep -q '"event":"epoch"' "$TMP/pre/metrics.jsonl" 2>/dev/null && break; sleep 0.2; done
grep -q '"event":"epoch"' "$TMP/pre/metrics.jsonl" 2>/dev/null || { cat "$TMP/ddp-train-$job.out" 2>/dev/null; fail "the preemption job did not start training"; }
scancel --signal=USR1 "$job" || fail "scancel --signal=USR1 failed"
for _ in $(seq 1 600); do
  state=$(scontrol show job "$job" 2>/dev/null | grep -o "JobState=[A-Z_]*" | cut -d= -f2)
  restarts=$(scontrol show job "$job" 2>/dev/null | grep -o "Restarts=[0-9]*" | cut -d= -f2)
  # Slurm holds a requeued job back for a while (its begin time); the test does not wait for that,
  # but lets 2 s pass after the requeue first: slurmd refuses a launch whose credential dates from
  # the second it revoked the killed run's ("Job credential revoked"), and the job then fails.
  if [ "${restarts:-0}" -ge 1 ] && [ "$state" = PENDING ]; then
    pending=$((${pending:-0} + 1))
    [ "$pending" -ge 3 ] && scontrol update JobId="$job" StartTime=now > /dev/null 2>&1
  fi
  [ "${restarts:-0}" -ge 1 ] && case "$state" in COMPLETED|FAILED|CANCELLED*|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) true ;; *) false ;; esac && break
  [ "${restarts:-0}" -eq 0 ] && case "$state" in COMPLETED|FAILED|CANCELLED*|TIMEOUT) true ;; *) false ;; esac && break
  sleep 1
done
out="$TMP/ddp-train-$job.out"
grep -q "stopped by a signal at step" "$out" || { cat "$out"; fail "USR1: no checkpoint-and-stop message"; }
grep -q "requeueing job $job" "$out" || { cat "$out"; fail "USR1: the batch script did not requeue the job"; }
[ "$state" = COMPLETED ] && [ "${restarts:-0}" -ge 1 ] || { cat "$out"; scontrol show job "$job"; fail "USR1: the requeued job ended $state after ${restarts:-0} restarts"; }
python3 - "$TMP/pre/metrics.jsonl" $epochs <<'PY' || { cat "$out"; fail "USR1: metrics.jsonl does not hold every epoch once"; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
epochs = [d["epoch"] for d in lines if d.get("event") == "epoch"]
assert epochs == list(range(int(sys.argv[2]))), epochs
assert sum(d.get("event") == "done" for d in lines) == 1
PY
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reason"]=="signal"' "$TMP/pre/flight/rank-0.json" || fail "USR1: no flight record with reason signal"
pass "Slurm preemption: USR1 to the tasks checkpointed ($(grep -o "stopped by a signal at step [0-9]*" "$out")), the job requeued itself and finished: $epochs epochs, each once"


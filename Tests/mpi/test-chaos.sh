#!/usr/bin/env bash
# A chaos run: 4 ranks on 2 namespace hosts train under a supervisor loop (--resume auto) while
# a seeded schedule injects faults at random global steps: SIGKILL of a rank, SIGSTOP of a rank
# (the stall watchdog), SIGTERM (preemption), host 2's link down, the run directory's disk full
# (a small tmpfs), and a truncated newest checkpoint. At the end the final weights must be
# bit-identical to an uninterrupted run of the same configuration, every checkpoint on disk
# must load (apart from the one the test truncated, until a resumed run replaces it),
# metrics.jsonl must hold every epoch once, and no temporary file may be left (the one a
# SIGKILLed rank was writing, named with its pid, must be gone once the next attempt starts). Prints the
# faults injected and survived. CHAOS_SEED picks the schedule (default 1). Needs root.
source "$(dirname "$0")/common.bash"
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: test-chaos.sh needs root (network namespaces, a tmpfs)"
  exit 0
fi
source "$(dirname "$0")/netns.bash"
netns_up 2 || { echo "skip: this machine does not let root create network and UTS namespaces: $NETNS_ERROR"; exit 0; }
DISK="$TMP/disk"
mkdir -p "$DISK"
mount -t tmpfs -o size=48m tmpfs "$DISK" || fail "could not mount a tmpfs for the run directory"
trap 'umount -l "$DISK" 2> /dev/null; netns_down; [ -n "${CHAOS_KEEP:-}" ] || rm -rf "$TMP"' EXIT
SEED=${CHAOS_SEED:-1}

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 1201 300
EPOCHS=30
args=(--data "$TMP/data" --imbalance-ratio 10 --epochs $EPOCHS --batch-size 120 --threads 1 --checkpoint-every 1
      --checkpoint-every-steps 4 --keep-checkpoints 3 --stall-timeout 4 --no-report-explanations --no-tensorboard)
hosts="$NET.1:2,$NET.2:2"

# The uninterrupted run, on the same hosts and ranks.
mrun "$hosts" 4 "${args[@]}" --run-dir "$TMP/whole" > "$TMP/whole.log" 2>&1 || { cat "$TMP/whole.log"; fail "the uninterrupted run failed"; }
total=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["step"])' "$TMP/whole/metrics.jsonl")

# The schedule: 8 faults in a seeded order at seeded increasing global steps.
read -r -a faults <<< "$(python3 - "$SEED" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
f = ["kill", "stop", "term", "link", "disk", "truncate", "kill", "term"]
r.shuffle(f)
print(" ".join(f))
PY
)"
read -r -a at <<< "$(python3 - "$SEED" "$total" "${#faults[@]}" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]) + 1)
total, n = int(sys.argv[2]), int(sys.argv[3])
# One fault per stretch of the run, at a random step inside it (after the first checkpoints).
width = (total - 12) // n
print(" ".join(str(12 + i * width + r.randrange(max(1, width - 4))) for i in range(n)))
PY
)"
echo "chaos: seed $SEED, $total steps, faults ${faults[*]} at steps ${at[*]}"

RUN="$DISK/run"
newest_step() { { ls "$RUN/checkpoints" 2> /dev/null || true; } | sed -n 's/^step-0*\([0-9][0-9]*\)\.ckpt$/\1/p' | sort -n | tail -1; }
# rank_pid R: the pid of rank R (its environment says so).
rank_pid() {
  for p in $(ranks_of "--run-dir $RUN"); do
    tr '\0' '\n' < /proc/"$p"/environ 2> /dev/null | grep -q "^DDP_CHAOS=$SEED$" || continue
    tr '\0' '\n' < /proc/"$p"/environ 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo "$p"; return 0; }
  done
  return 1
}
export DDP_CHAOS=$SEED
export OMPI_MCA_mca_base_env_list="DDP_CHAOS"

i=0; attempt=0; truncated=""; previous=""; survived=(); killed_tmp=()
until grep -q '"event":"done"' "$RUN/metrics.jsonl" 2> /dev/null; do
  attempt=$((attempt + 1))
  [ $attempt -le 20 ] || fail "still not finished after 20 attempts; survived: ${survived[*]}"
  first=$(newest_step); first=${first:-0}
  mrun "$hosts" 4 "${args[@]}" --resume auto --run-dir "$RUN" > "$TMP/attempt-$attempt.log" 2>&1 &
  job=$!
  fault=""
  if [ $i -lt ${#faults[@]} ]; then
    # Wait until this attempt trains (it wrote a checkpoint) and reached the fault's step, or ended.
    until ! kill -0 $job 2> /dev/null || { s=$(newest_step); [ "${s:-0}" -gt "$first" ] && [ "${s:-0}" -ge "${at[$i]}" ]; }; do sleep 0.05; done
    if kill -0 $job 2> /dev/null; then
      fault=${faults[$i]}
      step=$(newest_step)
      case $fault in
        kill)     victim=$(rank_pid 3) && kill -KILL "$victim" ;;
        stop)     victim=$(rank_pid 2) && kill -STOP "$victim" ;;
        term)     victim=$(rank_pid 1) && kill -TERM "$victim" ;;
        link)     netns_link 2 down ;;
        disk)     dd if=/dev/zero of="$DISK/filler" bs=1M > /dev/null 2>&1 || true ;;
        truncate) victim=$(rank_pid 0) && kill -KILL "$victim" ;;
      esac
    fi
  fi
  status=0; wait $job || status=$?
  # Whatever the fault left behind: stopped or orphaned ranks, a link down, a full disk.
  for h in 1 2; do for p in $(netns_pids $h); do kill -KILL "$p" 2> /dev/null || true; done; done
  netns_link 2 up
  rm -f "$DISK/filler"
  log="$TMP/attempt-$attempt.log"
  if [ -n "$truncated" ] && [ "$previous" = truncate ]; then
    grep -q "skipping $truncated" "$log" || { cat "$log"; fail "the attempt after the truncation did not skip $truncated"; }
  fi
  previous=$fault
  if [ -n "$fault" ]; then
    [ $status -ne 0 ] || { cat "$log"; fail "fault $fault at step $step: the job exited 0"; }
    # What the user sees for each fault.
    case $fault in
      stop|link) expect="no training step completed for" ;;
      term)      expect="stopped by a signal at step" ;;
      disk)      expect="No space left on device" ;;
      *)         expect="" ;;
    esac
    [ -z "$expect" ] || grep -q "$expect" "$log" || { cat "$log"; fail "fault $fault at step $step: the log does not say '$expect'"; }
    if [ "$fault" = stop ]; then
      grep -q "^Rank 2 is behind" "$log" || { cat "$log"; fail "the stopped rank 2 is not named by rank 0's flight account"; }
    fi
    if [ "$fault" = truncate ]; then
      truncated=$(ls "$RUN/checkpoints"/step-*.ckpt | sort | tail -1)
      size=$(stat -c %s "$truncated")
      truncate -s $((size / 2)) "$truncated"
    fi
    survived+=("$fault@$step(exit $status)")
    i=$((i + 1))
  elif [ $status -ne 0 ]; then
    cat "$TMP/attempt-$attempt.log"; fail "attempt $attempt failed without a fault (exit $status)"
  fi
  # Every checkpoint loads, except the one just truncated (the next attempt skips it).
  for c in "$RUN"/checkpoints/step-*.ckpt; do
    [ -e "$c" ] || continue
    "$BIN" inspect "$c" > /dev/null 2>&1 || [ "$c" = "$truncated" ] || { ls -l "$RUN/checkpoints"; fail "after attempt $attempt ($fault): $c does not load"; }
  done
  # No temporary file is left, except one a rank killed by SIGKILL was writing (named with its
  # pid: it could not remove it); the next attempt must remove that at its start.
  for t in "${killed_tmp[@]}"; do
    [ ! -e "$t" ] || { ls -la "$RUN" "$RUN/checkpoints"; fail "attempt $attempt did not remove $t, left by the SIGKILLed rank before it"; }
  done
  killed_tmp=()
  for t in $(find "$RUN" -maxdepth 2 -name '.tmp-*'); do
    case "$fault" in
      kill|truncate) [ "${t##*.}" = "$victim" ] && { killed_tmp+=("$t"); continue; } ;;
    esac
    ls -la "$RUN" "$RUN/checkpoints"; fail "after attempt $attempt ($fault): a temporary file was left: $t"
  done
done
[ ${#killed_tmp[@]} -eq 0 ] || fail "the last attempt left ${killed_tmp[*]}"

[ $i -eq ${#faults[@]} ] || fail "only $i of ${#faults[@]} faults were injected (the run finished first): ${survived[*]}"
cmp "$TMP/whole/final.safetensors" "$RUN/final.safetensors" || fail "the final weights differ from the uninterrupted run's"
cmp <(python3 -c 'import json,sys; [print(json.loads(l)["epoch"]) for l in open(sys.argv[1]) if json.loads(l).get("event") == "epoch"]' "$RUN/metrics.jsonl") \
    <(seq 0 $((EPOCHS - 1))) > /dev/null || fail "metrics.jsonl does not hold every epoch once"
python3 - "$TMP/whole/metrics.jsonl" "$RUN/metrics.jsonl" <<'PY' || fail "metrics.jsonl's figures differ from the uninterrupted run's"
import json, sys
keep = ("epoch", "step", "train_loss", "test_acc", "balanced_acc", "per_class_acc")
a = [{k: d.get(k) for k in keep} for d in map(json.loads, open(sys.argv[1]))]
b = [{k: d.get(k) for k in keep} for d in map(json.loads, open(sys.argv[2]))]
assert a == b, next((x, y) for x, y in zip(a, b) if x != y)
PY
echo "chaos: ${#survived[@]} faults injected and survived in $attempt attempts: ${survived[*]}"
pass "chaos run (seed $SEED): final weights bit-identical to the uninterrupted run, every checkpoint loads, every epoch once in metrics.jsonl"

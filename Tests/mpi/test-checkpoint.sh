#!/usr/bin/env bash
# Checkpoints: an interrupted and resumed run equals the uninterrupted one bit for
# bit under mpirun -n 2 (mlp, and resnet32 with batch norm); a damaged checkpoint
# is refused by inspect and skipped by --resume auto; shuffled zstd beats raw
# float32; SIGKILL while writing never loses the previous checkpoint.
source "$(dirname "$0")/common.bash"

# 1. mlp, 2 ranks, 3 epochs (IB from epoch 1), stopped at step 100 (mid-epoch) and at 234 (an epoch's end).
common=(--epochs 3 --threads 1 --checkpoint-every-steps 40 --retrieval-every 0)
run 2 "${common[@]}" --run-dir "$TMP/whole" > "$TMP/whole.log" 2>&1 || { cat "$TMP/whole.log"; fail "uninterrupted run"; }
run 2 "${common[@]}" --max-steps 100 --run-dir "$TMP/parts" > /dev/null 2>&1 || fail "first part"
run 2 "${common[@]}" --max-steps 234 --resume auto --run-dir "$TMP/parts" > "$TMP/part2.log" 2>&1 || fail "second part"
grep -q "resumed from .*step-00000100.ckpt" "$TMP/part2.log" || { cat "$TMP/part2.log"; fail "did not resume at step 100"; }
run 2 "${common[@]}" --resume auto --run-dir "$TMP/parts" > "$TMP/part3.log" 2>&1 || fail "third part"
grep -q "resumed from .*step-00000234.ckpt" "$TMP/part3.log" || { cat "$TMP/part3.log"; fail "did not resume at step 234"; }
cmp "$TMP/whole/final.safetensors" "$TMP/parts/final.safetensors" || fail "resumed mlp run differs from the uninterrupted one"
[ "$(grep -c '"event":"epoch"' "$TMP/parts/metrics.jsonl")" -eq 3 ] || fail "metrics.jsonl of the resumed run does not hold 3 epochs"
pass "mlp on 2 ranks: interrupted at steps 100 and 234 and resumed = uninterrupted, bit for bit"

# 1a. One copy of the parameters for the ranks of a host with more ranks than cores
# (SharedParameters; forced by DDP_TRAIN_SHARED_SUM=1 so that it runs on any machine), 3 ranks,
# NaN gradients on rank 1 in steps 20-21 (a skipped step must leave the shared gradients clear):
# the same weights as a copy per rank (DDP_TRAIN_SHARED_PARAMETERS=0, the gradients summed in
# the same order), bit for bit, and interrupted at step 100 and resumed = uninterrupted.
shared=(--epochs 2 --threads 1 --checkpoint-every-steps 40 --retrieval-every 0)
export DDP_TRAIN_FAULT_NAN=1:20-21
DDP_TRAIN_SHARED_SUM=1 run 3 "${shared[@]}" --run-dir "$TMP/swhole" > "$TMP/swhole.log" 2>&1 || { cat "$TMP/swhole.log"; fail "shared parameters, uninterrupted"; }
grep -q "^parameters: one copy in shared memory for the 3 ranks" "$TMP/swhole.log" || { cat "$TMP/swhole.log"; fail "3 ranks with DDP_TRAIN_SHARED_SUM=1 did not share their parameters"; }
grep -q '"skipped_steps":2' "$TMP/swhole/metrics.jsonl" || { cat "$TMP/swhole/metrics.jsonl"; fail "the NaN steps were not skipped"; }
DDP_TRAIN_SHARED_SUM=1 DDP_TRAIN_SHARED_PARAMETERS=0 run 3 "${shared[@]}" --run-dir "$TMP/scopies" > "$TMP/scopies.log" 2>&1 || { cat "$TMP/scopies.log"; fail "a copy per rank"; }
grep -q "^parameters: one copy" "$TMP/scopies.log" && fail "DDP_TRAIN_SHARED_PARAMETERS=0 still shared the parameters"
cmp "$TMP/swhole/final.safetensors" "$TMP/scopies/final.safetensors" || fail "shared parameters and a copy per rank give different weights"
DDP_TRAIN_SHARED_SUM=1 run 3 "${shared[@]}" --max-steps 100 --run-dir "$TMP/sparts" > /dev/null 2>&1 || fail "shared parameters, first part"
DDP_TRAIN_SHARED_SUM=1 run 3 "${shared[@]}" --resume auto --run-dir "$TMP/sparts" > "$TMP/spart2.log" 2>&1 || { cat "$TMP/spart2.log"; fail "shared parameters, second part"; }
grep -q "resumed from .*step-00000100.ckpt" "$TMP/spart2.log" || { cat "$TMP/spart2.log"; fail "shared parameters: did not resume at step 100"; }
cmp "$TMP/swhole/final.safetensors" "$TMP/sparts/final.safetensors" || fail "shared parameters: the resumed run differs from the uninterrupted one"
unset DDP_TRAIN_FAULT_NAN
pass "3 ranks sharing one copy of the parameters (2 NaN steps skipped) = a copy per rank, and resumed at step 100 = uninterrupted, bit for bit"

# 1b. Center loss: its centres are state (checkpointed, restored on resume), so a resumed
# run equals the uninterrupted one bit for bit, weights and centres.
center=(--loss ce --metric-loss center --metric-weight 0.1 --epochs 2 --threads 1 --checkpoint-every-steps 40 --retrieval-every 0)
run 2 "${center[@]}" --run-dir "$TMP/cwhole" > /dev/null 2>&1 || fail "center loss uninterrupted"
run 2 "${center[@]}" --max-steps 100 --run-dir "$TMP/cparts" > /dev/null 2>&1 || fail "center loss first part"
run 2 "${center[@]}" --resume auto --run-dir "$TMP/cparts" > "$TMP/cpart2.log" 2>&1 || fail "center loss second part"
grep -q "resumed from .*step-00000100.ckpt" "$TMP/cpart2.log" || { cat "$TMP/cpart2.log"; fail "center loss did not resume at step 100"; }
cmp "$TMP/cwhole/final.safetensors" "$TMP/cparts/final.safetensors" || fail "resumed center-loss run differs from the uninterrupted one"
centres() { "$BIN" inspect "$(ls "$1"/checkpoints/*.ckpt | tail -1)" | grep "loss/center_loss.centers"; }
[ -n "$(centres "$TMP/cwhole")" ] || fail "inspect does not show the centres"
[ "$(centres "$TMP/cwhole")" = "$(centres "$TMP/cparts")" ] || fail "the centres of the resumed run differ"
pass "center loss on 2 ranks: interrupted at step 100 and resumed = uninterrupted, bit for bit (centres in the checkpoint)"

# 2. resnet32 (batch norm, per-rank running statistics) on a small .npy set.
python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/small" 0 3000 200
small=(--data "$TMP/small" --model resnet32 --batch-size 16 --epochs 1 --threads 1 --imbalance-ratio 10 --eval-batch-size 100)
run 2 "${small[@]}" --max-steps 12 --run-dir "$TMP/rwhole" > /dev/null 2>&1 || fail "resnet32 uninterrupted"
run 2 "${small[@]}" --max-steps 5 --run-dir "$TMP/rparts" > /dev/null 2>&1 || fail "resnet32 first part"
run 2 "${small[@]}" --max-steps 12 --resume auto --run-dir "$TMP/rparts" > /dev/null 2>&1 || fail "resnet32 second part"
cmp "$TMP/rwhole/final.safetensors" "$TMP/rparts/final.safetensors" || fail "resumed resnet32 run differs"
pass "resnet32 on 2 ranks: interrupted at step 5 and resumed = uninterrupted, bit for bit"

# 3. A flipped byte: inspect refuses it, --resume auto skips it and takes the previous valid one.
newest=$(ls "$TMP/parts/checkpoints"/step-*.ckpt | sort | tail -1)
previous=$(ls "$TMP/parts/checkpoints"/step-*.ckpt | sort | tail -2 | head -1)
"$BIN" inspect "$newest" > /dev/null || fail "inspect refuses a good checkpoint"
python3 -c "import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 0x40; open(p, 'wb').write(b)" "$newest"
if "$BIN" inspect "$newest" > "$TMP/inspect.log" 2>&1; then fail "inspect accepted a flipped byte"; fi
grep -q "checksum" "$TMP/inspect.log" || { cat "$TMP/inspect.log"; fail "inspect did not say why"; }
run 2 "${common[@]}" --epochs 4 --resume auto --max-steps 360 --run-dir "$TMP/parts" > "$TMP/skip.log" 2>&1 || { cat "$TMP/skip.log"; fail "resume past a damaged checkpoint"; }
grep -q "skipping $newest" "$TMP/skip.log" || { cat "$TMP/skip.log"; fail "no warning about the damaged checkpoint"; }
grep -q "resumed from $previous" "$TMP/skip.log" || { cat "$TMP/skip.log"; fail "did not take the previous checkpoint"; }
pass "a flipped byte is refused by inspect and skipped by --resume auto"

# A sound checkpoint of another model is refused (not skipped: starting fresh would overwrite that run).
before=$(ls "$TMP/parts/checkpoints")
if run 2 "${common[@]}" --model cnn --resume auto --run-dir "$TMP/parts" > "$TMP/mismatch.log" 2>&1; then fail "a cnn run resumed an mlp checkpoint"; fi
grep -q "this run builds a cnn model" "$TMP/mismatch.log" || { cat "$TMP/mismatch.log"; fail "no message naming the mismatch"; }
[ "$(ls "$TMP/parts/checkpoints")" = "$before" ] || fail "the refused resume changed the checkpoints"
pass "a checkpoint of another model is refused with the reason; the run directory is untouched"

# SIGTERM (a scheduler's preemption notice): checkpoint at the next step, exit 143; resuming
# gives the uninterrupted run bit for bit.
sig=(--epochs 8 --threads 1 --checkpoint-every 2 --retrieval-every 0)
"$BIN" "${sig[@]}" --run-dir "$TMP/sigwhole" > /dev/null 2>&1 || fail "uninterrupted single-process run"
"$BIN" "${sig[@]}" --run-dir "$TMP/sig" > "$TMP/sig.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -f "$TMP/sig/metrics.jsonl" ] && [ -s "$TMP/sig/metrics.jsonl" ] && break; sleep 0.05; done
sleep 0.3
kill -TERM $pid
status=0; wait $pid || status=$?
[ "$status" -eq 143 ] || { cat "$TMP/sig.log"; fail "SIGTERM: exit status $status, expected 143"; }
grep -q "stopped by a signal at step" "$TMP/sig.log" || { cat "$TMP/sig.log"; fail "no stop message"; }
"$BIN" "${sig[@]}" --resume auto --run-dir "$TMP/sig" > "$TMP/sig2.log" 2>&1 || fail "resume after SIGTERM"
cmp "$TMP/sigwhole/final.safetensors" "$TMP/sig/final.safetensors" || fail "stopped by SIGTERM and resumed differs from uninterrupted"
pass "SIGTERM: checkpoint at the next step, exit 143, resumed = uninterrupted bit for bit ($(grep -o 'step [0-9]* (epoch [0-9]*, step [0-9]* of it)' "$TMP/sig.log"))"

# SIGUSR1 (Slurm's --signal=USR1@60) to one rank of two: every rank learns of it in the next
# step's all-reduce, the job checkpoints and exits 143, each rank leaves a flight record
# (reason "signal"), and resuming gives the uninterrupted 2-rank run bit for bit.
run 2 "${sig[@]}" --run-dir "$TMP/usr1whole" > /dev/null 2>&1 || fail "uninterrupted 2-rank run"
run 2 "${sig[@]}" --run-dir "$TMP/usr1" > "$TMP/usr1.log" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do [ -s "$TMP/usr1/metrics.jsonl" ] && grep -q '"epoch"' "$TMP/usr1/metrics.jsonl" && break; sleep 0.05; done
victim=""
for p in $(ranks_of "--run-dir $TMP/usr1\$"); do
  tr '\0' '\n' < /proc/"$p"/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
done
[ -n "$victim" ] || { kill $launcher 2>/dev/null; cat "$TMP/usr1.log"; fail "SIGUSR1: rank 1 not found"; }
kill -USR1 "$victim"
status=0; wait $launcher || status=$?
[ "$status" -eq 143 ] || { cat "$TMP/usr1.log"; fail "SIGUSR1: exit status $status, expected 143"; }
[ "$(grep -c "stopped by a signal at step" "$TMP/usr1.log")" -eq 1 ] || { cat "$TMP/usr1.log"; fail "SIGUSR1: not one stop message"; }
for r in 0 1; do
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reason"]=="signal", d["reason"]' "$TMP/usr1/flight/rank-$r.json" \
    || fail "SIGUSR1: rank $r left no flight record with reason signal"
done
run 2 "${sig[@]}" --resume auto --run-dir "$TMP/usr1" > "$TMP/usr1b.log" 2>&1 || { cat "$TMP/usr1b.log"; fail "resume after SIGUSR1"; }
cmp "$TMP/usr1whole/final.safetensors" "$TMP/usr1/final.safetensors" || fail "stopped by SIGUSR1 and resumed differs from uninterrupted (2 ranks)"
pass "SIGUSR1 to rank 1 of 2: checkpoint at the next step, exit 143, flight records, resumed = uninterrupted bit for bit"

# 4. Size: mlp with SGD momentum, against raw float32 parameters + momentum.
"$BIN" inspect --json "$TMP/whole/checkpoints/$(ls "$TMP/whole/checkpoints" | tail -1)" > "$TMP/size.json"
python3 - "$TMP/size.json" <<'PY' || fail "checkpoint not smaller than 0.95 x raw"
import json, sys
info = json.load(open(sys.argv[1]))
params = sum(1 for t in info["tensors"] if t["name"].startswith("parameters/"))
assert info["tensor_bytes"] == 2 * 4 * 535818, info["tensor_bytes"]
print("ratio %.3f" % info["compression_ratio"])
assert info["compression_ratio"] < 0.95
PY
pass "mlp + momentum checkpoint below 0.95 x raw float32"

# The harness that writes checkpoints in a loop: a test executable built beside the program.
STRESS="$(dirname "$BIN")/checkpoint-stress"
[ -x "$STRESS" ] || fail "build first: $STRESS is missing (swift build -c release)"
# 5. Crash safety: SIGKILL at many moments while 64 MB checkpoints are written.
mkdir -p "$TMP/stress"
for i in $(seq 1 12); do
  "$STRESS" "$TMP/stress" --megabytes 64 > "$TMP/stress.log" 2>&1 &
  pid=$!
  sleep "0.$(( (RANDOM % 9) + 1 ))$(( RANDOM % 10 ))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  "$STRESS" "$TMP/stress" --verify > /dev/null 2>&1 || { ls -la "$TMP/stress"; fail "a checkpoint does not load after kill $i"; }
done
ls "$TMP/stress"/step-*.ckpt > /dev/null 2>&1 || fail "no checkpoint was ever completed"
pass "12 kills while writing: every checkpoint on disk loads"

#!/usr/bin/env bash
# The samplers (--sampler, --drs-epoch) draw each epoch's global batches from the seed and the
# epoch alone: on 1, 2 and 3 ranks, over 2 epochs, every sampler draws the same classes
# (sampled_per_class bit for bit in every metrics line) and trains the same parameters (EQ_TOL of
# the update, as test-whole-epochs.sh). Deferred re-sampling switches in its epoch and says so;
# what a sampler cannot do is refused before anything is written.
source "$(dirname "$0")/common.bash"
EQ_TOL=${EQ_TOL:-2e-3}

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 1201 300
base=(--data "$TMP/data" --imbalance-ratio 10 --batch-size 40 --epochs 2 --loss ce --lr 0.02 --checkpoint-every 0 --retrieval-every 0
      --no-report-explanations --no-tensorboard --threads 1)
draws() { python3 -c 'import json,sys; [print(json.loads(l).get("sampled_per_class")) for l in open(sys.argv[1])]' "$1"; }

run 1 "${base[@]}" --max-steps 0 --run-dir "$TMP/init" > /dev/null 2>&1 || fail "initial weights"
for sampler in class-balanced square-root progressive "m-per-class --sampler-m 4" "uniform --drs-epoch 1"; do
  name=${sampler%% *}; [[ $sampler == *drs* ]] && name=drs
  for n in 1 2 3; do
    # shellcheck disable=SC2086
    run "$n" "${base[@]}" --sampler $sampler --run-dir "$TMP/$name-$n" > "$TMP/$name-$n.log" 2>&1 \
      || { cat "$TMP/$name-$n.log"; fail "--sampler $sampler on $n ranks"; }
  done
  one=$(draws "$TMP/$name-1/metrics.jsonl")
  [ "$(echo "$one" | head -1)" != None ] || fail "--sampler $sampler: no sampled_per_class in metrics.jsonl"
  for n in 2 3; do
    [ "$(draws "$TMP/$name-$n/metrics.jsonl")" = "$one" ] || fail "--sampler $sampler: $n ranks drew other classes than one process"
    diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/$name-1/final.safetensors" "$TMP/$name-$n/final.safetensors" "$EQ_TOL" \
           --init "$TMP/init/final.safetensors") || fail "--sampler $sampler: 1 and $n ranks differ by $diff of the update"
  done
  pass "--sampler $sampler: 1, 2 and 3 ranks draw the same classes each epoch ($(echo "$one" | tail -1)) and train alike ($diff)"
done

# Deferred re-sampling: uniform in epoch 1 (the training set's counts), class-balanced from epoch 2.
grep -q "^phases: epoch 1: ce; epoch 2: ce, class-balanced sampling (DRS: class-balanced sampling)" "$TMP/drs-1.log" \
  || { cat "$TMP/drs-1.log"; fail "--drs-epoch: the phases are not announced"; }
python3 - "$TMP/drs-1/metrics.jsonl" <<'PY' || fail "--drs-epoch: epoch 1 did not sample uniformly or epoch 2 did not re-sample"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["event"] == "epoch"]
assert lines[0]["sampled_per_class"] == lines[0]["class_counts"], lines[0]
assert max(lines[1]["sampled_per_class"]) - min(lines[1]["sampled_per_class"]) < max(lines[1]["class_counts"]) // 2, lines[1]
PY
pass "--drs-epoch 1: uniform draws in epoch 1, class-balanced from epoch 2, announced"

# Refusals: a batch that is not a multiple of M, M above the smallest class, DRS with another sampler.
refuse "multiple of --sampler-m 4, got 42" --sampler m-per-class --batch-size 42
refuse "more than the smallest class's 13 training samples" --sampler m-per-class --sampler-m 20
refuse "takes no --sampler square-root" --sampler square-root --drs-epoch 1
pass "m-per-class with a batch not a multiple of M or M above the smallest class, and DRS with a sampler, refused by name"

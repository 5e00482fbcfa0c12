#!/usr/bin/env bash
# Elastic resume: a checkpoint written by W ranks resumes on W' ranks. With unsharded data the
# global batches do not depend on the world size (whole epochs, no padding), so a run that
# changes its rank count at each resume (1 -> 4 -> 2 -> 3) continues the trajectory of the
# uninterrupted run, to float rounding (EQ_TOL of the update, as test-equivalence.sh). The loss
# is class-weighted CE: measured 4e-6 of the update after 3 epochs under the Cooperlake and
# Haswell kernels. The IB loss (alpha 1000) amplifies rounding step after step (5e-4 and 1.3e-3
# after 3 epochs), which would leave too thin a margin to tell rounding from a wrong batch.
source "$(dirname "$0")/common.bash"
EQ_TOL=${EQ_TOL:-2e-3}

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 1201 300
common=(--data "$TMP/data" --imbalance-ratio 1 --loss ce --class-weights ib --batch-size 120 --epochs 3 --threads 1
        --checkpoint-every-steps 1 --keep-checkpoints 2 --no-report-explanations --no-tensorboard)
run 1 "${common[@]}" --max-steps 0 --run-dir "$TMP/init" > /dev/null 2>&1 || fail "initial weights"
run 1 "${common[@]}" --run-dir "$TMP/whole" > /dev/null 2>&1 || fail "uninterrupted run"
run 1 "${common[@]}" --max-steps 8 --run-dir "$TMP/parts" > /dev/null 2>&1 || fail "1 rank to step 8"
previous=1
for part in "4 15" "2 24" "3 end"; do
  set -- $part
  limit=(); [ "$2" = end ] || limit=(--max-steps "$2")
  run "$1" "${common[@]}" "${limit[@]}" --resume auto --run-dir "$TMP/parts" > "$TMP/part-$1.log" 2>&1 || { cat "$TMP/part-$1.log"; fail "resume on $1 ranks"; }
  grep -q "note: resuming a $previous-rank checkpoint on $1 ranks: the global batches stay the same" "$TMP/part-$1.log" \
    || { cat "$TMP/part-$1.log"; fail "no note on the change from $previous to $1 ranks"; }
  previous=$1
done
[ "$(grep -c '"event":"epoch"' "$TMP/parts/metrics.jsonl")" -eq 3 ] || fail "metrics.jsonl of the resumed run does not hold 3 epochs"
diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/whole/final.safetensors" "$TMP/parts/final.safetensors" "$EQ_TOL" --init "$TMP/init/final.safetensors") \
  || fail "resumed on 4, 2 and 3 ranks: differs from the uninterrupted run by $diff of the update (tolerance $EQ_TOL)"
pass "a run resumed on 1 -> 4 -> 2 -> 3 ranks continues the uninterrupted trajectory ($diff of the update after 3 epochs)"

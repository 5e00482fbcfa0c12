#!/usr/bin/env bash
# N ranks train as one process: with one seed and a global batch of 120, the
# parameters after 12 steps with 1, 2, 3 and 4 ranks agree within 1e-4 relative,
# for every loss (IB losses from epoch 0, CRL with global mining).
source "$(dirname "$0")/common.bash"

losses=("ce" "ce --class-weights ib" "focal" "ib --ib-start-epoch 0" "ib-focal --ib-start-epoch 0" "crl --crl-mining global")
for loss in "${losses[@]}"; do
  name=${loss// /_}
  for n in 1 2 3 4; do
    # shellcheck disable=SC2086
    run "$n" --loss $loss --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 \
      --threads 1 --run-dir "$TMP/$name-$n" > "$TMP/$name-$n.log" 2>&1 || { cat "$TMP/$name-$n.log"; fail "$loss on $n ranks"; }
  done
  for n in 2 3 4; do
    diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/$name-1/final.safetensors" "$TMP/$name-$n/final.safetensors" 1e-4) \
      || fail "$loss: 1 and $n ranks differ: $diff"
  done
  pass "$loss: 1, 2, 3, 4 ranks agree (largest relative difference $diff)"
done

# The non-blocking bucket path (the default across hosts) gives the same parameters.
for n in 2 3; do
  run "$n" --loss ib --ib-start-epoch 0 --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --threads 1 \
    --bucket-mode overlap --bucket-first-mib 0.25 --run-dir "$TMP/overlap-$n" > /dev/null 2>&1 || fail "overlapping buckets on $n ranks"
  diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/ib_--ib-start-epoch_0-1/final.safetensors" "$TMP/overlap-$n/final.safetensors" 1e-4) \
    || fail "--bucket-mode overlap on $n ranks differs: $diff"
done
pass "--bucket-mode overlap (non-blocking buckets, a small first one): 2 and 3 ranks agree with one process"

# Two BLAS threads (backward overwrites the gradients) train as one (backward adds into
# gradients the optimiser cleared), in one process and on 2 ranks.
for n in 1 2; do
  run "$n" --loss ib --ib-start-epoch 0 --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --threads 2 \
    --run-dir "$TMP/threads2-$n" > /dev/null 2>&1 || fail "--threads 2 on $n ranks"
  diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/ib_--ib-start-epoch_0-1/final.safetensors" "$TMP/threads2-$n/final.safetensors" 1e-4) \
    || fail "--threads 2 on $n ranks differs from one thread: $diff"
done
pass "two BLAS threads per rank (gradients overwritten) agree with one (gradients accumulated and cleared)"

# The weighting must matter: a different seed gives clearly different parameters.
run 1 --loss ce --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --threads 1 --seed 1 \
  --run-dir "$TMP/other-seed" > /dev/null 2>&1
if python3 Tests/mpi/safetensors_diff.py "$TMP/ce-1/final.safetensors" "$TMP/other-seed/final.safetensors" 1e-4 > /dev/null; then
  fail "the comparison cannot tell two seeds apart"
fi
pass "the comparison tells two seeds apart"

# Synchronised batch norm: batch statistics summed over ranks make resnet32 on 2 ranks train
# as one process; without it the ranks normalise with their own statistics and differ.
# One step: batch norm on 8-sample halves amplifies float rounding (about 3e-5 after the
# first step) over further steps, which would blur the comparison.
python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/small" 0 2000 100
bn=(--data "$TMP/small" --model resnet32 --loss ce --batch-size 16 --max-steps 1 --epochs 1 --threads 1
    --imbalance-ratio 1 --checkpoint-every 0 --eval-batch-size 100)
run 1 "${bn[@]}" --sync-batchnorm --run-dir "$TMP/bn1" > /dev/null 2>&1 || fail "resnet32 sync-BN on 1 rank"
run 2 "${bn[@]}" --sync-batchnorm --run-dir "$TMP/bn2" > /dev/null 2>&1 || fail "resnet32 sync-BN on 2 ranks"
run 2 "${bn[@]}" --run-dir "$TMP/bn2-local" > /dev/null 2>&1 || fail "resnet32 local BN on 2 ranks"
diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/bn1/final.safetensors" "$TMP/bn2/final.safetensors" 1e-4) \
  || fail "--sync-batchnorm: 1 and 2 ranks differ: $diff"
if python3 Tests/mpi/safetensors_diff.py "$TMP/bn1/final.safetensors" "$TMP/bn2-local/final.safetensors" 1e-4 > /dev/null; then
  fail "local batch norm on 2 ranks equals one process: the sync test cannot tell"
fi
pass "--sync-batchnorm: resnet32 on 1 and 2 ranks agree (largest relative difference $diff); local statistics differ"

#!/usr/bin/env bash
# N ranks train as one process: with one seed and a global batch of 120, the
# parameters after 12 steps with 1, 2, 3 and 4 ranks agree for every loss (IB losses
# from epoch 0, CRL with global mining).
#
# Differences are measured layer by layer relative to the layer's update from the
# initial weights (safetensors_diff.py --init): the scale float rounding works on. The
# ranks sum the same gradients in another order (and the BLAS kernel may split a product
# differently), so the runs agree to rounding, not bit for bit; a pre-activation within
# rounding of zero can even switch its ReLU, which changes one term of a gradient sum:
# about 4e-3 of that step's update (measured for resnet32, estimated for the mlp), so
# about 4e-4 of 12 steps' updates. Measured here: the mlp runs agree to 5e-7 to 8e-7.
# Wrong weighting of a rank's samples changes updates by 1/W or more, and one sample
# lost from a batch of 120 by 8e-3 (coherent terms) to 9e-2 (random ones). Tolerances:
# EQ_TOL for the 12-step mlp runs (5x above one flip, 4x below one lost sample),
# BN_TOL for resnet32's single step (5x above one flip; local statistics give 1.6).
# The runs compare weights only: no retrieval, clusters or report explanations (about 1 s a run).
source "$(dirname "$0")/common.bash"
EQ_TOL=${EQ_TOL:-2e-3}
BN_TOL=${BN_TOL:-2e-2}
diff_update() { python3 Tests/mpi/safetensors_diff.py "$1" "$2" "$3" --init "$4"; }

# The initial weights every run below starts from (seed 0).
run 1 --batch-size 120 --max-steps 0 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 --run-dir "$TMP/init" > /dev/null 2>&1 \
  || fail "--max-steps 0 (initial weights)"
INIT="$TMP/init/final.safetensors"

# agree LOSS INIT [RANKS]: 12 steps of LOSS on 1 and each of RANKS ranks (default "2 3 4") give
# the same parameters (relative to their update from INIT).
agree() {
  local loss=$1 init=$2 ranks=${3:-2 3 4} name=${1// /_} n diff
  for n in 1 $ranks; do
    # shellcheck disable=SC2086
    run "$n" --loss $loss --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations \
      --threads 1 --run-dir "$TMP/$name-$n" > "$TMP/$name-$n.log" 2>&1 || { cat "$TMP/$name-$n.log"; fail "$loss on $n ranks"; }
  done
  for n in $ranks; do
    diff=$(diff_update "$TMP/$name-1/final.safetensors" "$TMP/$name-$n/final.safetensors" "$EQ_TOL" "$init") \
      || fail "$loss: 1 and $n ranks differ by $diff of the update (tolerance $EQ_TOL)"
    echo "  $loss, $n ranks: $diff"
  done
  pass "$loss: 1 and ${ranks// /, } ranks agree (largest difference relative to the update $diff)"
}

losses=("ce" "ce --class-weights ib" "focal" "ib --ib-start-epoch 0" "ib-focal --ib-start-epoch 0" "crl --crl-mining global")
# EQ_LOSS_TERMS=none (the reruns under other BLAS kernels) keeps CE and IB: the other losses'
# products are the same mlp's, and the cases below compare with IB's one-process run.
[ "${EQ_LOSS_TERMS:-all}" != none ] || losses=("ce" "ib --ib-start-epoch 0")
for loss in "${losses[@]}"; do agree "$loss" "$INIT"; done
# The sum paths (MPI, a shared-memory sum, shared parameters) over whole epochs: test-whole-epochs.sh.
DDP_TRAIN_SHARED_SUM=0 agree "ce --bucket-mode overlap" "$INIT" "3"

# The convolutions (oneDNN, or im2col where it is missing) on each rank's share of the batch:
# the cnn (its conv2 and conv3 run Winograd's algorithm on AVX-512) and resnet32 (batch norm with each
# rank's statistics differs by design: --sync-batchnorm). Their own initial weights.
run 1 --model cnn --batch-size 120 --max-steps 0 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 --run-dir "$TMP/init-cnn" > /dev/null 2>&1 \
  || fail "--max-steps 0 (initial weights of the cnn)"
agree "ce --model cnn" "$TMP/init-cnn/final.safetensors" "2 3"

# Margin heads (a cosine last layer, head.W), embedding losses over the gathered global
# batch (center loss's centres move by the global batch's sums) and the long-tail losses
# (logits adjusted by the global class counts): N ranks train as one process.
# EQ_LOSS_TERMS=none skips them (the reruns under other BLAS kernels: their products are the
# mlp's, which the losses above already cover).
if [ "${EQ_LOSS_TERMS:-all}" != none ]; then
run 1 --loss arcface --batch-size 120 --max-steps 0 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 --run-dir "$TMP/init-head" > /dev/null 2>&1 \
  || fail "--max-steps 0 (initial weights of the cosine head)"
run 1 --loss subcenter-arcface --batch-size 120 --max-steps 0 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 --run-dir "$TMP/init-sub" > /dev/null 2>&1 \
  || fail "--max-steps 0 (initial weights of the sub-centre head)"
metric=("arcface" "cosface" "sphereface" "subcenter-arcface" "ce --metric-loss contrastive" "ce --metric-loss triplet"
        "ce --metric-loss triplet --miner semihard --triplet-margin 0.2" "ce --metric-loss contrastive --miner batch-hard"
        "ce --metric-loss npairs" "ce --metric-loss quadruplet" "ib --ib-start-epoch 0 --metric-loss center --metric-weight 0.1"
        "ldam --class-weights cb" "balanced-softmax" "logit-adjusted --class-weights ib" "vs --class-weights ib")
# Three ranks against one (a world size that is not a power of two): the gathering and summing
# paths are those the losses above check on 2, 3 and 4 ranks.
for loss in "${metric[@]}"; do
  case $loss in
    subcenter-arcface) agree "$loss" "$TMP/init-sub/final.safetensors" 3 ;;
    *face | ldam*) agree "$loss" "$TMP/init-head/final.safetensors" 3 ;;
    *) agree "$loss" "$INIT" 3 ;;
  esac
done
fi

# The non-blocking bucket path (the default across hosts) gives the same parameters.
for n in 2 3; do
  run "$n" --loss ib --ib-start-epoch 0 --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 \
    --bucket-mode overlap --bucket-first-mib 0.25 --run-dir "$TMP/overlap-$n" > /dev/null 2>&1 || fail "overlapping buckets on $n ranks"
  diff=$(diff_update "$TMP/ib_--ib-start-epoch_0-1/final.safetensors" "$TMP/overlap-$n/final.safetensors" "$EQ_TOL" "$INIT") \
    || fail "--bucket-mode overlap on $n ranks differs: $diff"
done
pass "--bucket-mode overlap (non-blocking buckets, a small first one): 2 and 3 ranks agree with one process"

# Two BLAS threads (backward overwrites the gradients) train as one (backward adds into
# gradients the optimiser cleared), in one process and on 2 ranks.
for n in 1 2; do
  run "$n" --loss ib --ib-start-epoch 0 --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 2 \
    --run-dir "$TMP/threads2-$n" > /dev/null 2>&1 || fail "--threads 2 on $n ranks"
  diff=$(diff_update "$TMP/ib_--ib-start-epoch_0-1/final.safetensors" "$TMP/threads2-$n/final.safetensors" "$EQ_TOL" "$INIT") \
    || fail "--threads 2 on $n ranks differs from one thread: $diff"
done
pass "two BLAS threads per rank (gradients overwritten) agree with one (gradients accumulated and cleared)"

# --grad-compression: gradients rounded to 16 bits on the wire and summed in 16 bits. One
# process rounds its whole gradient once; 2 ranks round each half and the sum, so they
# differ by the format's rounding (bf16: 2^-8 relative per rounding, fp16: 2^-11 plus
# underflow of gradients below 6e-8), not by float32's. Measured 12 steps of the mlp:
# bf16 3.1e-3, fp16 9.5e-4 of the update apart; tolerances GC_TOL_BF16 and GC_TOL_FP16
# are 2-3x that. Each must also differ from float32 (the rounding happened).
GC_TOL_BF16=${GC_TOL_BF16:-1e-2}
GC_TOL_FP16=${GC_TOL_FP16:-3e-3}
for c in bf16 fp16; do
  for n in 1 2; do
    run "$n" --loss ib --ib-start-epoch 0 --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 \
      --grad-compression $c --run-dir "$TMP/gc-$c-$n" > "$TMP/gc-$c-$n.log" 2>&1 || { cat "$TMP/gc-$c-$n.log"; fail "--grad-compression $c on $n ranks"; }
  done
  tol=$GC_TOL_BF16; [ $c = fp16 ] && tol=$GC_TOL_FP16
  diff=$(diff_update "$TMP/gc-$c-1/final.safetensors" "$TMP/gc-$c-2/final.safetensors" "$tol" "$INIT") \
    || fail "--grad-compression $c: 1 and 2 ranks differ by $diff of the update (tolerance $tol)"
  if same=$(diff_update "$TMP/ib_--ib-start-epoch_0-1/final.safetensors" "$TMP/gc-$c-1/final.safetensors" 1e-5 "$INIT"); then
    fail "--grad-compression $c gives float32's parameters ($same): nothing was rounded"
  fi
  grep -q "\"grad-compression\" : \"$c\"" "$TMP/gc-$c-2/config.json" || fail "config.json does not record --grad-compression $c"
  echo "  --grad-compression $c: 1 and 2 ranks $diff apart (tolerance $tol); $same from float32"
done
# The non-blocking path widens each bucket when its sum arrives: the same sums as blocking.
run 2 --loss ib --ib-start-epoch 0 --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 \
  --grad-compression bf16 --bucket-mode overlap --bucket-first-mib 0.25 --run-dir "$TMP/gc-overlap" > /dev/null 2>&1 || fail "--grad-compression bf16 --bucket-mode overlap"
diff=$(diff_update "$TMP/gc-bf16-2/final.safetensors" "$TMP/gc-overlap/final.safetensors" "$EQ_TOL" "$INIT") \
  || fail "--grad-compression bf16: overlapping and blocking buckets differ by $diff"
pass "--grad-compression bf16 and fp16: 1 and 2 ranks agree within the 16-bit rounding, and differ from float32"

# The weighting must matter: a different seed gives clearly different parameters.
run 1 --loss ce --batch-size 120 --max-steps 12 --epochs 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --threads 1 --seed 1 \
  --run-dir "$TMP/other-seed" > /dev/null 2>&1
if diff_update "$TMP/ce-1/final.safetensors" "$TMP/other-seed/final.safetensors" "$EQ_TOL" "$INIT" > /dev/null; then
  fail "the comparison cannot tell two seeds apart"
fi
pass "the comparison tells two seeds apart"

# Synchronised batch norm: batch statistics summed over ranks make resnet32 on 2 ranks train
# as one process; without it the ranks normalise with their own statistics and differ.
# One step: batch norm on 8-sample halves amplifies float rounding over further steps,
# which would blur the comparison. Measured on an AVX-512 CPU: 1 vs 2 ranks 5e-5 of the
# update under the Haswell kernel but 4e-3 under SkylakeX/Cooperlake, as large as the
# same one-process step under the two kernels. The cause is one ReLU (after layer3.0's
# residual sum, one channel) whose input lies within rounding of zero: the kernels'
# rounding puts it on either side, and its gradient term, one of 16 x 49 in that
# channel, moves every layer below. Local statistics differ by about 1.6.
python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/small" 0 2000 100
bn=(--data "$TMP/small" --model resnet32 --loss ce --batch-size 16 --max-steps 1 --epochs 1 --threads 1
    --imbalance-ratio 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --eval-batch-size 100)
run 1 "${bn[@]}" --max-steps 0 --run-dir "$TMP/bn0" > /dev/null 2>&1 || fail "resnet32 initial weights"
run 1 "${bn[@]}" --sync-batchnorm --run-dir "$TMP/bn1" > /dev/null 2>&1 || fail "resnet32 sync-BN on 1 rank"
run 2 "${bn[@]}" --sync-batchnorm --run-dir "$TMP/bn2" > /dev/null 2>&1 || fail "resnet32 sync-BN on 2 ranks"
run 2 "${bn[@]}" --run-dir "$TMP/bn2-local" > /dev/null 2>&1 || fail "resnet32 local BN on 2 ranks"
diff=$(diff_update "$TMP/bn1/final.safetensors" "$TMP/bn2/final.safetensors" "$BN_TOL" "$TMP/bn0/final.safetensors") \
  || fail "--sync-batchnorm: 1 and 2 ranks differ by $diff of the update (tolerance $BN_TOL)"
local_diff=$(diff_update "$TMP/bn1/final.safetensors" "$TMP/bn2-local/final.safetensors" "$BN_TOL" "$TMP/bn0/final.safetensors") \
  && fail "local batch norm on 2 ranks equals one process ($local_diff): the sync test cannot tell"
pass "--sync-batchnorm: resnet32 on 1 and 2 ranks agree ($diff of the update); local statistics differ ($local_diff)"

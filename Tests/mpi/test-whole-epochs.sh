#!/usr/bin/env bash
# N ranks train as one process over whole epochs, on every path the gradients can take between
# ranks: MPI_Allreduce (mpi), a shared-memory window that sums each bucket (sum: what a host with
# more ranks than cores does for --grad-compression runs and with DDP_TRAIN_SHARED_PARAMETERS=0),
# and one copy of the parameters in such a window, each rank summing and updating a slice
# (parameters: what `mpirun -n 8` on fewer cores does). Each path is forced, so that every
# machine runs all three whatever its cores; the log must name the path taken.
#
# 533 training samples (--imbalance-ratio 10 of 1201) in global batches of 48: 11 whole
# batches and one of 5, which 2, 3 and 4 ranks share (2+2+1, ...) and of which 3 of 8 ranks get
# nothing. Two epochs, so the second starts after a smaller batch; IB from the second epoch on
# (its lambda_k from the global class counts), CRL mining over the gathered global batch, and
# triplets mined (semi-hard) over the gathered global batch.
#
# Then elastic resumes on the same data: a checkpoint of 4 ranks resumed on 2, and one of 8
# resumed on 3, each continuing the uninterrupted one-process trajectory.
#
# The three paths add the same terms in the same order (RankOrderSum: Open MPI's recursive
# doubling, forced here with OMPI_MCA_coll_tuned_allreduce_algorithm=3 so that the check does not
# hang on Open MPI's choice, which is the same for these sizes): N ranks give the same bits on
# each path.
#
# Tolerance: EQ_TOL of each layer's update, as test-equivalence.sh (rounding gives 5e-7 to 7e-7
# here; one sample lost from a batch, or a rank's gradient counted twice, gives 8e-3 or more).
# Rounding grows over many steps (see docs/architecture.md, "N ranks and one process"), so the
# runs are short. EQ_LOSS_TERMS=none (the reruns under other BLAS kernels) keeps CE and IB.
source "$(dirname "$0")/common.bash"
EQ_TOL=${EQ_TOL:-2e-3}
export OMPI_MCA_coll_tuned_use_dynamic_rules=1 OMPI_MCA_coll_tuned_allreduce_algorithm=3
diff_update() { python3 Tests/mpi/safetensors_diff.py "$1" "$2" "$EQ_TOL" --init "$3"; }

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 1201 300
base=(--data "$TMP/data" --imbalance-ratio 10 --batch-size 48 --epochs 2 --checkpoint-every 0 --retrieval-every 0
      --no-report-explanations --no-tensorboard --threads 1)

# on_path PATH N ARGS...: N ranks with the gradients on PATH; checks the log names it.
on_path() {
  local path=$1 n=$2; shift 2
  local log="$TMP/path.log" expect=""
  case $path in
    mpi) DDP_TRAIN_SHARED_SUM=0 run "$n" "$@" > "$log" 2>&1 || { cat "$log"; return 1; } ;;
    sum) DDP_TRAIN_SHARED_SUM=1 DDP_TRAIN_SHARED_PARAMETERS=0 run "$n" "$@" > "$log" 2>&1 || { cat "$log"; return 1; }
         expect="gradients: summed in shared memory by the $n ranks" ;;
    parameters) DDP_TRAIN_SHARED_SUM=1 run "$n" "$@" > "$log" 2>&1 || { cat "$log"; return 1; }
         expect="parameters: one copy in shared memory for the $n ranks" ;;
  esac
  if [ -n "$expect" ]; then
    grep -q "^$expect" "$log" || { cat "$log"; fail "$path on $n ranks: the log does not say '$expect'"; }
  elif grep -q "in shared memory" "$log"; then
    cat "$log"; fail "mpi on $n ranks: the gradients went through shared memory"
  fi
}

losses=("ce" "ib --ib-start-epoch 1" "crl --crl-mining global" "ce --metric-loss triplet --miner semihard")
[ "${EQ_LOSS_TERMS:-all}" != none ] || losses=("ce" "ib --ib-start-epoch 1")
for loss in "${losses[@]}"; do
  name=${loss// /_}
  # shellcheck disable=SC2086
  run 1 "${base[@]}" --loss $loss --max-steps 0 --run-dir "$TMP/$name-init" > /dev/null 2>&1 || fail "$loss: initial weights"
  # shellcheck disable=SC2086
  run 1 "${base[@]}" --loss $loss --run-dir "$TMP/$name-1" > "$TMP/$name-1.log" 2>&1 || { cat "$TMP/$name-1.log"; fail "$loss on one process"; }
  worst=0
  for n in 2 3 4 8; do
    for path in mpi sum parameters; do
      # shellcheck disable=SC2086
      on_path $path "$n" "${base[@]}" --loss $loss --run-dir "$TMP/$name-$n-$path" || fail "$loss on $n ranks ($path)"
      diff=$(diff_update "$TMP/$name-1/final.safetensors" "$TMP/$name-$n-$path/final.safetensors" "$TMP/$name-init/final.safetensors") \
        || fail "$loss, two whole epochs: 1 process and $n ranks ($path) differ by $diff of the update (tolerance $EQ_TOL)"
      [ $path = mpi ] || cmp -s "$TMP/$name-$n-mpi/final.safetensors" "$TMP/$name-$n-$path/final.safetensors" \
        || fail "$loss on $n ranks: the $path path's parameters are not those of the mpi path bit for bit"
      worst=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2].split()[0])))" "$worst" "$diff")
    done
  done
  pass "$loss: two whole epochs (a last batch of 5) on 2, 3, 4 and 8 ranks, each over MPI, a shared-memory sum and shared parameters (the same bits on each), equal one process (largest difference $worst of the update)"
done

# The test can tell one sample too many: PyTorch's padding (--pad-to-world-size) gives the last
# batch of 5 on 3 ranks a sixth sample, seen twice in the epoch.
run 3 "${base[@]}" --loss ce --pad-to-world-size --run-dir "$TMP/pad" > /dev/null 2>&1 || fail "--pad-to-world-size on 3 ranks"
if padded=$(diff_update "$TMP/ce-1/final.safetensors" "$TMP/pad/final.safetensors" "$TMP/ce-init/final.safetensors"); then
  fail "--pad-to-world-size on 3 ranks equals one process ($padded): this test cannot tell one sample too many"
fi
pass "--pad-to-world-size on 3 ranks (one sample twice an epoch) does not equal one process ($padded of the update)"

# Elastic resumes: 4 ranks to step 9 (inside the first epoch), 2 to the end; 8 ranks to step 15
# (inside the second), 3 to the end. Checkpoints at every step; the global batches do not depend
# on the world size, so each continues the one-process trajectory.
elastic=("${base[@]}" --loss "ib" --ib-start-epoch 1 --checkpoint-every-steps 1 --keep-checkpoints 2)
for part in "4 9 2" "8 15 3"; do
  set -- $part
  run "$1" "${elastic[@]}" --max-steps "$2" --run-dir "$TMP/elastic-$1" > "$TMP/elastic-$1.log" 2>&1 \
    || { cat "$TMP/elastic-$1.log"; fail "$1 ranks to step $2"; }
  run "$3" "${elastic[@]}" --resume auto --run-dir "$TMP/elastic-$1" > "$TMP/elastic-$1-$3.log" 2>&1 \
    || { cat "$TMP/elastic-$1-$3.log"; fail "resuming $1 ranks' checkpoint on $3"; }
  grep -q "note: resuming a $1-rank checkpoint on $3 ranks" "$TMP/elastic-$1-$3.log" \
    || { cat "$TMP/elastic-$1-$3.log"; fail "no note on the change from $1 to $3 ranks"; }
  diff=$(diff_update "$TMP/ib_--ib-start-epoch_1-1/final.safetensors" "$TMP/elastic-$1/final.safetensors" "$TMP/ib_--ib-start-epoch_1-init/final.safetensors") \
    || fail "$1 ranks resumed on $3: $diff of the update off the one-process run (tolerance $EQ_TOL)"
  pass "a checkpoint of $1 ranks at step $2 resumed on $3 ranks ends on the one-process trajectory ($diff of the update)"
done

#!/usr/bin/env bash
# Two-stage decoupling (--stage2 crt|lws, Kang et al. 2020) in the same run: the first stage is
# the run without a second stage bit for bit (stage1.safetensors); the second changes nothing
# but the classifier (cRT re-trains it, LWS scales its rows), batch-norm statistics included;
# 1, 2 and 3 ranks train alike; a run stopped inside the second stage, or at its very start,
# resumes to the uninterrupted result bit for bit; what cannot be decoupled is refused.
source "$(dirname "$0")/common.bash"
EQ_TOL=${EQ_TOL:-2e-3}

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 1201 300
base=(--data "$TMP/data" --imbalance-ratio 10 --batch-size 40 --epochs 2 --loss ce --lr 0.02 --checkpoint-every 1
      --retrieval-every 0 --no-report-explanations --no-tensorboard --threads 1)
same() { python3 Tests/mpi/safetensors_diff.py "$1" "$2" 0 > /dev/null; }
key() { python3 -c 'import json,sys; print(" ".join(str(json.loads(l).get(sys.argv[2])) for l in open(sys.argv[1])))' "$@"; }

run 2 "${base[@]}" --tau-norm 1 --run-dir "$TMP/plain" > "$TMP/plain.log" 2>&1 || { cat "$TMP/plain.log"; fail "the plain run"; }
run 1 "${base[@]}" --max-steps 0 --run-dir "$TMP/init" > /dev/null 2>&1 || fail "initial weights"
for method in crt lws; do
  for n in 1 2 3; do
    run "$n" "${base[@]}" --stage2 $method --stage2-epochs 2 --run-dir "$TMP/$method-$n" > "$TMP/$method-$n.log" 2>&1 \
      || { cat "$TMP/$method-$n.log"; fail "--stage2 $method on $n ranks"; }
  done
  same "$TMP/plain/final.safetensors" "$TMP/$method-2/stage1.safetensors" \
    || fail "--stage2 $method: its first stage is not the run without a second stage"
  what=$(cd Tests/mpi && python3 stage2_check.py $method "$TMP/$method-2/stage1.safetensors" "$TMP/$method-2/final.safetensors" fc3) \
    || fail "--stage2 $method changed what it must not"
  for n in 2 3; do
    diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/$method-1/final.safetensors" "$TMP/$method-$n/final.safetensors" \
           "$EQ_TOL" --init "$TMP/init/final.safetensors") || fail "--stage2 $method: 1 and $n ranks differ by $diff"
  done
  [ "$(key "$TMP/$method-2/metrics.jsonl" stage)" = "1 1 2 2 2" ] || fail "--stage2 $method: stage in metrics.jsonl"
  [ "$(key "$TMP/$method-2/metrics.jsonl" phase)" = "1 1 2 2 2" ] || fail "--stage2 $method: phase in metrics.jsonl"
  grep -q "^stage 2: " "$TMP/$method-2.log" || fail "--stage2 $method: the second stage is not announced"
  pass "--stage2 $method: first stage = the plain run, only the classifier moves ($what), 1/2/3 ranks alike ($diff)"
done

# Resumes: stopped inside the second stage (step 40 of 60: 30 per stage) and at its first step.
for stop in 40 30; do
  run 2 "${base[@]}" --stage2 crt --stage2-epochs 2 --checkpoint-every-steps 10 --max-steps $stop \
    --run-dir "$TMP/resumed-$stop" > /dev/null 2>&1 || fail "--stage2 crt stopped at step $stop"
  run 2 "${base[@]}" --stage2 crt --stage2-epochs 2 --checkpoint-every-steps 10 --resume auto \
    --run-dir "$TMP/resumed-$stop" > "$TMP/resumed-$stop.log" 2>&1 || { cat "$TMP/resumed-$stop.log"; fail "resume at $stop"; }
  same "$TMP/crt-2/final.safetensors" "$TMP/resumed-$stop/final.safetensors" \
    || fail "--stage2 crt stopped at step $stop and resumed does not end as the uninterrupted run"
done
pass "--stage2 crt stopped at step 40 (inside stage 2) or 30 (its start) resumes to the uninterrupted run bit for bit"

# Batch norm in evaluation mode: resnet32's running statistics do not move in the second stage.
run 2 "${base[@]}" --model resnet32 --epochs 1 --max-steps 40 --stage2 lws --stage2-epochs 1 --run-dir "$TMP/bn" \
  > "$TMP/bn.log" 2>&1 || { cat "$TMP/bn.log"; fail "--stage2 lws on resnet32"; }
(cd Tests/mpi && python3 stage2_check.py lws "$TMP/bn/stage1.safetensors" "$TMP/bn/final.safetensors" linear > /dev/null) \
  || fail "--stage2 lws on resnet32 moved the backbone or its batch-norm statistics"
pass "resnet32: the second stage leaves every convolution and batch-norm statistic as the first stage left them"

refuse "--loss arcface trains a cosine head; use a loss of the linear head" --stage2 crt --loss arcface
refuse "--stage2-loss ib trains in two phases" --stage2 lws --stage2-loss ib
refuse "--stage2-epochs" --stage2 crt --stage2-epochs 0
pass "--stage2 with a cosine head, a two-phase stage-2 loss or no epochs refused by name, nothing written"

# Tau-normalisation, post hoc: figures beside the raw ones in training and in eval, the same for
# the same model; refused for a cosine head, and search refused without a validation split.
[ "$(key "$TMP/plain/metrics.jsonl" test_acc_taunorm | tr ' ' '\n' | grep -c None)" = 0 ] \
  || fail "--tau-norm 1: a metrics line without test_acc_taunorm"
last=$(key "$TMP/plain/metrics.jsonl" test_acc_taunorm | awk '{print $NF}')
got=$(run 2 eval "$TMP/plain/final.safetensors" --data "$TMP/data" --tau-norm 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["test_acc_taunorm"])')
[ "$got" = "$last" ] || fail "eval --tau-norm 1 gives $got, training's last line $last"
refuse "trains a cosine head (its rows are normalised already)" --tau-norm 1 --loss arcface
refuse "--tau-norm search chooses tau on the validation split: add --val-split" --tau-norm search
pass "--tau-norm 1: test_acc_taunorm in every metrics line, eval --tau-norm agrees ($got); cosine head and search refused"

# The evaluation's figures (accuracy, shot groups, top-5, NLL, ECE; raw, post-hoc and
# tau-normalised) are sums over the ranks' shards: 1, 2 and 3 ranks give the same (to the float32
# rounding of logits computed in batches of other shapes: 1e-5 for NLL and ECE).
for n in 1 2 3; do
  run "$n" eval "$TMP/plain/final.safetensors" --data "$TMP/data" --tau-norm 1 --posthoc-tau 1 --json > "$TMP/eval-$n.json" \
    || fail "eval on $n ranks"
done
python3 - "$TMP"/eval-{1,2,3}.json <<'PY' || fail "eval's figures differ between 1, 2 and 3 ranks"
import json, sys
runs = [json.load(open(p)) for p in sys.argv[1:]]
keys = [k for k in runs[0] if isinstance(runs[0][k], float) and "precision" not in k and "map_at_r" not in k]
for k in ["ece", "ece_balanced", "test_nll", "top5_acc", "many_shot", "ece_taunorm", "test_nll_posthoc"]:
    assert k in keys, k
for r in runs[1:]:
    for k in keys:
        assert abs(r[k] - runs[0][k]) <= 1e-5 * max(1, abs(runs[0][k])), (k, r[k], runs[0][k])
    for k in ["test_acc", "balanced_acc", "top5_acc", "many_shot", "test_acc_taunorm", "test_acc_posthoc"]:
        assert r[k] == runs[0][k], (k, r[k], runs[0][k])
    assert r["few_shot"] == runs[0]["few_shot"], "few_shot"
PY
pass "eval's accuracy, shot-group, top-5, NLL and ECE figures (raw, post-hoc, tau-normalised) equal on 1, 2 and 3 ranks"

#!/usr/bin/env bash
# The validation split (--val-split) and model selection (--select-by): val_* figures in every
# metrics line, the same split on 1 and 2 ranks, best.safetensors = the best epoch's weights
# (its checkpoint exported), a run stopped after its best epoch and resumed keeps the same best,
# the summary names the best epoch and the last; what cannot be split or selected is refused.
source "$(dirname "$0")/common.bash"

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 2001 300
base=(--data "$TMP/data" --imbalance-ratio 10 --batch-size 40 --epochs 4 --loss ce --lr 0.05 --checkpoint-every 1
      --keep-checkpoints 10 --retrieval-every 0 --no-report-explanations --no-tensorboard --threads 1 --val-split 8)
key() { python3 -c 'import json,sys; print(" ".join(str(json.loads(l).get(sys.argv[2])) for l in open(sys.argv[1])))' "$@"; }

for n in 1 2; do
  run "$n" "${base[@]}" --run-dir "$TMP/v$n" > "$TMP/v$n.log" 2>&1 || { cat "$TMP/v$n.log"; fail "--val-split on $n ranks"; }
done
grep -q "^validation split (--val-split 8, never trained on): 80 samples, per class \[8, 8, 8, 8, 8, 8, 8, 8, 8, 8\]" \
  "$TMP/v1.log" || { cat "$TMP/v1.log"; fail "the validation split is not announced"; }
[ "$(key "$TMP/v1/metrics.jsonl" val_acc | tr ' ' '\n' | grep -c None)" = 0 ] || fail "a metrics line without val_acc"
# The same samples on 1 and 2 ranks: the untrained-on split scores alike (within one sample).
python3 - "$TMP/v1/metrics.jsonl" "$TMP/v2/metrics.jsonl" <<'PY' || fail "1 and 2 ranks validate on other samples"
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
for x, y in zip(a, b):
    assert abs(x["val_acc"] - y["val_acc"]) <= 1 / 80 + 1e-9, (x["epoch"], x["val_acc"], y["val_acc"])
PY
# best.safetensors is the best epoch's model: the checkpoint after that epoch, exported.
best=$(python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if "\"epoch\"" in l and json.loads(l)["event"] == "epoch"]
best = max(lines, key=lambda l: (l["val_balanced_acc"], -l["epoch"]))
print(best["epoch"] + 1, best["step"])' "$TMP/v2/metrics.jsonl")
epoch=${best% *}; step=${best#* }
grep -q "^best epoch $epoch by val_balanced_acc" "$TMP/v2.log" || { cat "$TMP/v2.log"; fail "the summary does not name best epoch $epoch"; }
grep -q "; last epoch 4: test accuracy" "$TMP/v2.log" || fail "the summary does not give the last epoch's figures"
"$BIN" export "$TMP/v2/checkpoints/step-$(printf %08d "$step").ckpt" "$TMP/best-export.safetensors" --format safetensors \
  > /dev/null || fail "export of the best epoch's checkpoint"
python3 Tests/mpi/safetensors_diff.py "$TMP/best-export.safetensors" "$TMP/v2/best.safetensors" 0 > /dev/null \
  || fail "best.safetensors is not epoch $epoch's model"
[ -f "$TMP/v2/best.ckpt" ] || fail "no best.ckpt"
pass "--val-split 8: val_* every epoch, the same split on 1 and 2 ranks, best.safetensors = epoch $epoch's model (step $step)"

# Stopped inside the second epoch (21 steps each) and resumed: the same best as the uninterrupted run.
run 2 "${base[@]}" --max-steps 30 --run-dir "$TMP/r" > /dev/null 2>&1 || fail "the run to step 30"
run 2 "${base[@]}" --resume auto --run-dir "$TMP/r" > "$TMP/r.log" 2>&1 || { cat "$TMP/r.log"; fail "the resumed run"; }
python3 Tests/mpi/safetensors_diff.py "$TMP/v2/best.safetensors" "$TMP/r/best.safetensors" 0 > /dev/null \
  || fail "a resumed run keeps another best model"
pass "a run stopped at step 30 and resumed keeps the uninterrupted run's best.safetensors bit for bit"

# Without a split the summary says no selection happened; nothing is written as best.
run 1 "${base[@]:0:${#base[@]}-2}" --epochs 1 --run-dir "$TMP/none" > "$TMP/none.log" 2>&1 || fail "a run without --val-split"
grep -q "no validation split (--val-split, --val-list or val/): no model selection" "$TMP/none.log" || fail "no selection is not said"
[ ! -e "$TMP/none/best.safetensors" ] || fail "best.safetensors without a validation split"

# --tau-norm search: tau chosen on the validation split each epoch, said, and used for *_taunorm.
run 1 "${base[@]}" --epochs 2 --tau-norm search --run-dir "$TMP/tau" > "$TMP/tau.log" 2>&1 || { cat "$TMP/tau.log"; fail "--tau-norm search"; }
chosen=$(key "$TMP/tau/metrics.jsonl" tau_norm_chosen | awk '{print $NF}')
python3 -c 'import sys; t = float(sys.argv[1]); assert 0 <= t <= 2 and abs(t * 10 - round(t * 10)) < 1e-9' "$chosen" \
  || fail "--tau-norm search chose '$chosen'"
grep -q "^tau-normalised (tau $chosen)" "$TMP/tau.log" || fail "the summary does not give the chosen tau $chosen"
got=$("$BIN" eval "$TMP/tau/final.safetensors" --data "$TMP/data" --tau-norm "$chosen" --json \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["test_acc_taunorm"])')
[ "$got" = "$(key "$TMP/tau/metrics.jsonl" test_acc_taunorm | awk '{print $NF}')" ] \
  || fail "the test figure at the chosen tau is not eval --tau-norm $chosen's"
pass "--tau-norm search: tau $chosen chosen on the validation split, said, and the test figures are eval's at that tau"

refuse "--val-split 200 leaves it no training sample" --val-split 200
refuse "--select-by must be a validation key" --select-by val_bogus
refuse "a share must be in (0, 1), got 1.5" --val-split 1.5
pass "no split: no selection, said; a split that empties a class, an unknown --select-by key, a bad share: refused"

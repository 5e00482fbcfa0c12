#!/usr/bin/env bash
# Models learn: one epoch of plain cross-entropy on the balanced Fashion-MNIST
# training set reaches at least 80% test accuracy with mlp and 75% with cnn;
# resnet32 trains with a finite, falling loss (on 3000 images, to stay quick).
source "$(dirname "$0")/common.bash"
acc() { python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]['test_acc'])" "$1/metrics.jsonl"; }
one_epoch=(--loss ce --imbalance-ratio 1 --epochs 1 --warmup-epochs 0 --lr 0.05 --schedule constant --checkpoint-every 0)

run 2 --model mlp "${one_epoch[@]}" --run-dir "$TMP/mlp" > /dev/null 2>&1 || fail "mlp run"
python3 -c "import sys; a = float(sys.argv[1]); print('mlp test accuracy %.4f' % a); sys.exit(0 if a >= 0.80 else 1)" "$(acc "$TMP/mlp")" \
  || fail "mlp below 80%"
run 2 --model cnn "${one_epoch[@]}" --run-dir "$TMP/cnn" > /dev/null 2>&1 || fail "cnn run"
python3 -c "import sys; a = float(sys.argv[1]); print('cnn test accuracy %.4f' % a); sys.exit(0 if a >= 0.75 else 1)" "$(acc "$TMP/cnn")" \
  || fail "cnn below 75%"
pass "one epoch of CE on balanced Fashion-MNIST: mlp >= 80%, cnn >= 75%"

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/small" 0 3000 500
run 2 --model resnet32 --data "$TMP/small" --imbalance-ratio 1 --loss ce --epochs 3 --warmup-epochs 0 --lr 0.05 \
  --schedule constant --batch-size 64 --checkpoint-every 0 --eval-batch-size 250 --run-dir "$TMP/resnet" > /dev/null 2>&1 || fail "resnet32 run"
python3 - "$TMP/resnet/metrics.jsonl" <<'PY' || fail "resnet32 loss not finite and falling"
import json, math, sys
losses = [r["train_loss"] for r in map(json.loads, open(sys.argv[1])) if r["event"] == "epoch"]
print("resnet32 epoch losses", ["%.4f" % l for l in losses])
assert len(losses) == 3 and all(math.isfinite(l) for l in losses), losses
assert losses[2] < losses[1] < losses[0], losses
PY
pass "resnet32 trains with a finite, falling loss"

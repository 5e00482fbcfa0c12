#!/usr/bin/env bash
# ONNX export: mlp, cnn, resnet32 and torchvision's resnet10 and ResNeXt-50 (ImageNet
# stem: max pool with padding, grouped convolutions) with linear heads and the cosine heads (ArcFace, sub-center
# ArcFace) exported from checkpoints and final.safetensors, run by onnxruntime (pip, in this test
# only) on the real test images: logits within 1e-5 of the largest logit of `ddp-train eval
# --logits`'s; the metadata names the classes and the normalisation. Bad input refused.
source "$(dirname "$0")/common.bash"
FMNIST=/usr/share/datasets/fashion-mnist
PY=$(test_python onnx onnxruntime numpy)
# The first 2,000 training and 1,000 test images (IDX as well): 10,000-image evaluations, three
# times per model (training's last epoch, eval, onnxruntime), took most of this test's time.
SMALL=$TMP/small/fashion-mnist  # the name gives the class names
"$PY" - "$FMNIST" "$SMALL" <<'PY'
import gzip, os, struct, sys
src, out = sys.argv[1:3]
os.makedirs(out)
for name, n in [("train-images-idx3-ubyte", 2000), ("train-labels-idx1-ubyte", 2000),
                ("t10k-images-idx3-ubyte", 1000), ("t10k-labels-idx1-ubyte", 1000)]:
    path = os.path.join(src, name)
    data = (gzip.open(path + ".gz") if os.path.exists(path + ".gz") else open(path, "rb")).read()
    dims = data[3]
    shape = [n] + [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(1, dims)]
    size = 1
    for d in shape[1:]:
        size *= d
    body = data[4 + 4 * dims:4 + 4 * dims + n * size]
    with gzip.open(os.path.join(out, name + ".gz"), "wb") as f:
        f.write(data[:4] + b"".join(struct.pack(">I", d) for d in shape) + body)
PY

for case in "mlp ce" "cnn ce" "resnet32 ce" "cnn arcface" "mlp subcenter-arcface" "resnet10 ce --stem imagenet" \
            "resnext50_32x4d ce --stem imagenet"; do
  set -- $case
  name="$1-$2"
  run 2 --model "$1" --loss "$2" "${@:3}" --data "$SMALL" --batch-size 32 --max-steps 10 --epochs 1 --threads 1 --no-report-explanations --no-tensorboard \
    --run-dir "$TMP/$name" > "$TMP/$name.log" 2>&1 || { cat "$TMP/$name.log"; fail "training $name"; }
  ckpt=$(ls "$TMP/$name/checkpoints/"*.ckpt | tail -1)
  "$BIN" export "$ckpt" --format onnx "$TMP/$name.onnx" > /dev/null || fail "export of $name"
  run 2 eval "$ckpt" --logits "$TMP/$name.npy" --threads 1 > /dev/null 2>&1 || fail "eval --logits of $name"
  "$PY" Tests/mpi/onnx_check.py "$TMP/$name.onnx" "$TMP/$name.npy" "$SMALL" 1e-5 || fail "onnxruntime's logits of $name differ"
done
# final.safetensors (the model card in its metadata) exports the same graph.
"$BIN" export "$TMP/cnn-arcface/final.safetensors" --format onnx "$TMP/final.onnx" > /dev/null || fail "export of final.safetensors"
"$PY" Tests/mpi/onnx_check.py "$TMP/final.onnx" "$TMP/cnn-arcface.npy" "$SMALL" 1e-5 > /dev/null || fail "final.safetensors' graph differs"
"$PY" - "$TMP/final.onnx" <<'PY' || fail "metadata"
import json, sys, onnx
meta = {p.key: p.value for p in onnx.load(sys.argv[1]).metadata_props}
assert json.loads(meta["class_names"])[0] == "T-shirt/top", meta["class_names"]
assert meta["head"] == "cosine:1" and meta["model"] == "cnn" and len(json.loads(meta["mean"])) == 1, meta
PY
pass "ONNX graphs of mlp, cnn, resnet32, resnet10, resnext50_32x4d and the cosine heads give eval's logits in onnxruntime; metadata carries classes and normalisation"

# Bad input: not a checkpoint, a missing file; no output file is left.
head -c 1000 /dev/urandom > "$TMP/junk.ckpt"
if "$BIN" export "$TMP/junk.ckpt" --format onnx "$TMP/junk.onnx" > "$TMP/junk.log" 2>&1; then fail "junk exported"; fi
grep -q "junk.ckpt" "$TMP/junk.log" || { cat "$TMP/junk.log"; fail "no message naming the file"; }
if "$BIN" export "$TMP/none.ckpt" --format onnx "$TMP/none.onnx" > "$TMP/none.log" 2>&1; then fail "a missing file exported"; fi
[ ! -e "$TMP/junk.onnx" ] && [ ! -e "$TMP/none.onnx" ] || fail "an output file was written for bad input"
pass "a damaged or missing checkpoint is refused, nothing written"

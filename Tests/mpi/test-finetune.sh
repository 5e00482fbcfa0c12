#!/usr/bin/env bash
# Fine-tuning torchvision-style: a resnet10 trained on 10 classes (its state, by torchvision's names)
# starts a run on a small generated image folder of 3 classes with --init-from; every tensor but
# the classifier equals the file's at step 0, the classifier of the other shape is left out with a
# message, and the run trains on 2 ranks.
source "$(dirname "$0")/common.bash"
PY=$(test_python pillow numpy)
"$PY" - "$TMP" <<'PY'
import os, sys
import numpy as np
from PIL import Image
r = np.random.RandomState(3)
os.makedirs(f"{sys.argv[1]}/rgb", exist_ok=True)
for split, n in (("train", 8), ("test", 3)):
    for c, name in enumerate(["cat", "dog", "fox"]):
        os.makedirs(f"{sys.argv[1]}/photos/{split}/{name}", exist_ok=True)
        for i in range(n):
            pixels = (r.rand(64, 64, 3) * 255 * (0.4 + 0.3 * c)).astype(np.uint8)
            Image.fromarray(pixels).save(f"{sys.argv[1]}/photos/{split}/{name}/{i}.png")
    count = 40 if split == "train" else 20
    np.save(f"{sys.argv[1]}/rgb/{split}_images.npy", r.randint(0, 255, (count, 3, 64, 64)).astype(np.uint8))
    np.save(f"{sys.argv[1]}/rgb/{split}_labels.npy", np.arange(count) % 10)
PY
common=(--model resnet10 --imbalance-ratio 1 --batch-size 8 --threads 1 --retrieval-every 0 --no-report-explanations
        --no-tensorboard)
run 2 "${common[@]}" --data "$TMP/rgb" --max-steps 2 --run-dir "$TMP/source" > "$TMP/source.log" 2>&1 \
  || { cat "$TMP/source.log"; fail "the 10-class resnet10"; }
run 2 "${common[@]}" --data "$TMP/photos" --init-from "$TMP/source/final.safetensors" --max-steps 0 \
  --run-dir "$TMP/start" > "$TMP/start.log" 2>&1 || { cat "$TMP/start.log"; fail "fine-tuning start"; }
grep -q "^--init-from .*: the classifier is for other classes; left out, trained from its initial values: fc.weight \[10, 512\] (the model's is \[3, 512\]), fc.bias" \
  "$TMP/start.log" || { cat "$TMP/start.log"; fail "the left-out classifier is not said"; }
"$PY" - "$TMP/source/final.safetensors" "$TMP/start/final.safetensors" <<'PY' || fail "the loaded tensors differ from the file's"
import json, struct, sys
import numpy as np
def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dtype={"F32": np.float32, "I64": np.int64}[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items()}
a, b = read(sys.argv[1]), read(sys.argv[2])
assert set(a) == set(b), set(a) ^ set(b)
same = [k for k in a if not k.startswith("fc.") and not k.endswith("num_batches_tracked")]
assert len(same) == len(a) - 2 - sum(k.endswith("num_batches_tracked") for k in a) > 40, len(same)
for k in same:
    assert np.array_equal(a[k], b[k]), k
assert a["fc.weight"].shape == (10, 512) and b["fc.weight"].shape == (3, 512)
print(f"{len(same)} tensors equal")
PY
run 2 "${common[@]}" --data "$TMP/photos" --init-from "$TMP/source/final.safetensors" --epochs 2 --loss ce \
  --normalization imagenet --run-dir "$TMP/tuned" > "$TMP/tuned.log" 2>&1 || { cat "$TMP/tuned.log"; fail "fine-tuning"; }
"$PY" - "$TMP/tuned/final.safetensors" <<'PY' || fail "--normalization imagenet is not recorded"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
assert [round(float(v), 3) for v in meta["mean"].split(",")] == [0.485, 0.456, 0.406], meta["mean"]
assert [round(float(v), 3) for v in meta["std"].split(",")] == [0.229, 0.224, 0.225], meta["std"]
assert meta["model"] == "resnet10" and meta["stem"] == "imagenet", meta
PY
base=("${common[@]}" --data "$TMP/photos" --max-steps 0)
refuse "normalises 3 colour channels" --normalization imagenet --channels 1
grep -q '"event":"done"' "$TMP/tuned/metrics.jsonl" || fail "the fine-tuning run did not finish"
pass "--init-from a 10-class resnet10 on a 3-class image folder: every tensor but fc loaded as the file has it, fc left out and said, 2 epochs on 2 ranks with --normalization imagenet (in the card); grey images refused for it"

# The fine-tuned weights without their card (as torchvision's state_dict would come): eval takes the
# model, the classes and the normalisation from the options and gives the carded file's logits.
"$PY" - "$TMP/tuned/final.safetensors" "$TMP/bare.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header.pop("__metadata__")
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PY
run 1 eval "$TMP/tuned/final.safetensors" --data "$TMP/photos" --threads 1 --logits "$TMP/want.npy" > /dev/null 2>&1 \
  || fail "eval of the carded file"
run 1 eval "$TMP/bare.safetensors" --data "$TMP/photos" --model resnet10 --classes 3 --normalization imagenet --threads 1 \
  --logits "$TMP/got.npy" > "$TMP/bare.err" 2>&1 || { cat "$TMP/bare.err"; fail "eval of the card-less file"; }
run 1 eval "$TMP/bare.safetensors" --data "$TMP/photos" --model resnet10 --classes 3 --threads 1 \
  --logits "$TMP/dataset.npy" > /dev/null 2>&1 || fail "eval of the card-less file with the data's normalisation"
"$PY" - "$TMP" <<'PY' || fail "the card-less file's logits differ from the carded file's"
import sys
import numpy as np
t = sys.argv[1]
want, got, other = (np.load(f"{t}/{n}.npy") for n in ("want", "got", "dataset"))
assert want.shape == (9, 3) and np.array_equal(want, got), (want, got)
assert not np.allclose(want, other), "--normalization is not applied"
PY
got="9 x 3 logits equal"
run 1 eval "$TMP/tuned/final.safetensors" --classes 5 --threads 1 > "$TMP/conflict.log" 2>&1 && fail "--classes 5 against the card was accepted"
grep -q "carries its model card, which says otherwise: --classes 5 (the card: 3)" "$TMP/conflict.log" \
  || { cat "$TMP/conflict.log"; fail "the conflict with the card is not said"; }
pass "a card-less .safetensors: eval --model resnet10 --classes 3 --normalization imagenet gives the carded file's logits ($got; the data's normalisation gives others); a value against a card refused"

#!/usr/bin/env bash
# Explanations against the references: verify-explanations passes every item of the golden
# file (captum and pytorch-grad-cam maps of a cnn and a resnet32); a damaged copy fails with
# the item named; weights of another model are refused with the tensor named.
source "$(dirname "$0")/common.bash"

GOLDEN=Tests/golden/explain
"$BIN" verify-explanations "$GOLDEN/explain.json" > "$TMP/verify.log" || { cat "$TMP/verify.log"; fail "verify-explanations on the golden file"; }
grep -qE "^58 passed, 0 failed$" "$TMP/verify.log" || { cat "$TMP/verify.log"; fail "expected 58 items to pass"; }
pass "verify-explanations: $(tail -1 "$TMP/verify.log")"

# A damaged copy: one Grad-CAM pixel of resnet32's second case, one saliency pixel of the cnn.
mkdir "$TMP/broken"
cp "$GOLDEN"/*.safetensors "$TMP/broken/"
python3 - "$GOLDEN/explain.json" "$TMP/broken/explain.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["models"][1]["cases"][1]["gradcam"][3][10][12] += 0.05
d["models"][0]["cases"][0]["saliency"][2][5][5] += 0.01
json.dump(d, open(sys.argv[2], "w"))
PY
if "$BIN" verify-explanations "$TMP/broken/explain.json" > "$TMP/broken.log"; then fail "verify-explanations passed a damaged file"; fi
grep -q "^models\[1\] resnet32 cases\[1\] (other) gradcam: image 3: .* at (10, 12)" "$TMP/broken.log" \
  && grep -q "^models\[0\] cnn cases\[0\] (predicted) saliency: image 2: .* at (5, 5)" "$TMP/broken.log" \
  && grep -qE "^56 passed, 2 failed$" "$TMP/broken.log" || { cat "$TMP/broken.log"; fail "the damaged items are not named"; }
pass "a damaged copy fails, naming the model, case, method, image and pixel"

# The cnn's weights given as the resnet32's: refused with the missing tensor named, exit 1.
python3 - "$GOLDEN/explain.json" "$TMP/broken/explain.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["models"][1]["weights"] = "cnn.safetensors"
json.dump(d, open(sys.argv[2], "w"))
PY
if "$BIN" verify-explanations "$TMP/broken/explain.json" > "$TMP/wrong.log" 2>&1; then fail "wrong weights accepted"; fi
grep -q "^models\[1\] resnet32: .*cnn.safetensors: tensor conv1.weight has shape \[32, 1, 3, 3\], expected \[16, 1, 3, 3\]" "$TMP/wrong.log" || { cat "$TMP/wrong.log"; fail "wrong weights: no clear message"; }
pass "weights of another model: refused, naming the file and the tensor"

# explain on checkpoints of a short cnn run and a short mlp run.
run 1 --model cnn --max-steps 20 --epochs 1 --threads 1 --run-dir "$TMP/cnn" > /dev/null 2>&1 || fail "cnn run for explain"
run 1 --model mlp --max-steps 20 --epochs 1 --threads 1 --run-dir "$TMP/mlp" > /dev/null 2>&1 || fail "mlp run for explain"
cnn=$(ls "$TMP"/cnn/checkpoints/*.ckpt | tail -1)
mlp=$(ls "$TMP"/mlp/checkpoints/*.ckpt | tail -1)

# Grad-CAM of one image per class: 1 and 2 ranks write the same files.
for n in 1 2; do
  run "$n" explain "$cnn" --per-class 1 --json --threads 1 --out "$TMP/gc$n" > "$TMP/gc$n.json" 2> "$TMP/gc$n.log" || { cat "$TMP/gc$n.log"; fail "explain gradcam on $n ranks"; }
done
grep -q "gradcam: 10 images .* explained on 2 ranks; gallery: $TMP/gc2/index.html" "$TMP/gc2.log" || { cat "$TMP/gc2.log"; fail "explain summary line"; }
[ "$(ls "$TMP"/gc1/*-gradcam.png | wc -l)" -eq 10 ] || fail "expected 10 PNGs"
[ "$(grep -o "data:image/png;base64" "$TMP/gc1/index.html" | wc -l)" -eq 10 ] || fail "index.html does not hold the 10 images"
for f in maps.json index.html $(cd "$TMP/gc1" && ls *.png); do
  cmp -s "$TMP/gc1/$f" "$TMP/gc2/$f" || fail "$f differs between 1 and 2 ranks"
done
python3 - "$TMP/gc1/maps.json" "$TMP/gc2.json" <<'PY' || fail "maps.json"
import json, sys
d = json.load(open(sys.argv[1]))
items = d["items"]
assert d["method"] == "gradcam" and len(items) == 10, (d["method"], len(items))
assert sorted(i["label"] for i in items) == list(range(10))
for i in items:
    assert len(i["map"]) == 28 * 28 and min(i["map"]) >= 0 and max(i["map"]) <= 1 + 1e-6
    assert abs(sum(i["probabilities"]) - 1) < 1e-6 and i["target"] == i["predicted"]
    # Deletion and insertion curves: 21 points from the image's own probability of its target.
    assert len(i["deletion"]) == len(i["insertion"]) == 21, (len(i["deletion"]), len(i["insertion"]))
    assert abs(i["deletion"][0] - i["probabilities"][i["target"]]) < 1e-5 and abs(i["insertion"][-1] - i["probabilities"][i["target"]]) < 1e-5
    assert all(0 <= a <= 1 for a in (i["deletion_auc"], i["insertion_auc"]))
# The summary: per class, and by many / medium / few classes, the same as the items' means.
f = d["faithfulness"]
assert f["all"]["images"] == 10 and abs(f["all"]["deletion_auc"] - sum(i["deletion_auc"] for i in items) / 10) < 1e-9, f["all"]
assert sum(f[g]["images"] for g in ("many", "medium", "few") if g in f) == 10
assert sorted(f["per_class"]) == [str(c) for c in range(10)]
printed = json.loads(open(sys.argv[2]).read())
assert printed["method"] == "gradcam" and printed["all"] == f["all"], printed
PY
grep -q "Faithfulness" "$TMP/gc1/index.html" && grep -q "deletion AUC" "$TMP/gc1/index.html" || fail "the gallery shows no faithfulness"
pass "explain --method gradcam: 10 PNGs, a gallery and maps.json (with deletion and insertion curves), identical on 1 and 2 ranks"

# The visualisation of intermediate layers: the strongest feature maps and the first filters.
run 1 explain "$cnn" --features --layer "relu(conv2)" --indices 0 1 --threads 1 --out "$TMP/features" > "$TMP/features.log" 2>&1 \
  || { cat "$TMP/features.log"; fail "explain --features"; }
[ "$(grep -o "data:image/png;base64" "$TMP/features/features.html" | wc -l)" -eq 19 ] || fail "features.html: expected the filters and 2 x (input + 8 maps)"
grep -q "channel .*, mean" "$TMP/features/features.html" && [ -s "$TMP/features/filters.png" ] || fail "features.html or filters.png"
if run 1 explain "$mlp" --features --threads 1 --out "$TMP/features-mlp" > "$TMP/features-mlp.log" 2>&1; then fail "--features on the mlp accepted"; fi
grep -q "needs a feature map" "$TMP/features-mlp.log" && [ ! -e "$TMP/features-mlp" ] || { cat "$TMP/features-mlp.log"; fail "--features on the mlp: no clear refusal"; }
pass "explain --features: the 8 strongest maps of relu(conv2) per image and the first layer's filters; refused for the mlp"

# LIME on the mlp, its 4 x 2 chunks of masked images split over 3 ranks, gives the maps of one
# process (the masks are seeded per image).
for n in 1 3; do
  run "$n" explain "$mlp" --method lime --indices 0 1 2 3 --samples 200 --json --threads 1 --out "$TMP/lime$n" > "$TMP/lime$n.log" 2>&1 \
    || { cat "$TMP/lime$n.log"; fail "explain lime on $n ranks"; }
done
cmp -s "$TMP/lime1/maps.json" "$TMP/lime3/maps.json" || fail "LIME maps differ between 1 and 3 ranks"
pass "explain --method lime: the same maps on 1 and 3 ranks"

# Refusals: a method that needs a feature map on the mlp, a test position out of range.
if run 2 explain "$mlp" --method gradcam --threads 1 --out "$TMP/refused" > "$TMP/refused.log" 2>&1; then fail "gradcam on the mlp accepted"; fi
grep -q "needs a feature map .* mlp has none: use --method saliency or lime" "$TMP/refused.log" || { cat "$TMP/refused.log"; fail "no reason for refusing gradcam on the mlp"; }
[ "$(grep -c "needs a feature map" "$TMP/refused.log")" -eq 1 ] || fail "the refusal was printed by more than one rank"
[ ! -e "$TMP/refused" ] || fail "a refused explain wrote its output directory"
if "$BIN" explain "$cnn" --indices 5 99999 --out "$TMP/range" > "$TMP/range.log" 2>&1; then fail "an index out of range accepted"; fi
grep -q -- "--indices 99999: the test set has images 0..<10000" "$TMP/range.log" || { cat "$TMP/range.log"; fail "no message for an index out of range"; }
pass "explain refuses Grad-CAM on the mlp (one message, nothing written) and an index out of range"

# A safetensors file (the golden cnn; its metadata names the model).
"$BIN" explain "$GOLDEN/cnn.safetensors" --method gradcam++ --indices 0 1 --out "$TMP/st" > "$TMP/st.log" 2>&1 || { cat "$TMP/st.log"; fail "explain on a safetensors file"; }
[ "$(ls "$TMP"/st/*.png | wc -l)" -eq 2 ] || fail "explain on a safetensors file: expected 2 PNGs"
pass "explain on a .safetensors file"

# final.safetensors carries the model and the inputs' normalisation: explaining it gives the
# maps of the run's last checkpoint.
"$BIN" explain "$TMP/cnn/final.safetensors" --per-class 1 --json --threads 1 --out "$TMP/final" > "$TMP/final.log" 2>&1 || { cat "$TMP/final.log"; fail "explain on final.safetensors"; }
python3 - "$TMP/final/maps.json" "$TMP/gc1/maps.json" <<'PY' || fail "final.safetensors and the last checkpoint explain differently"
import json, sys
a, b = (json.load(open(p))["items"] for p in sys.argv[1:])
assert a == b, "maps differ"
PY
pass "explain on final.safetensors (model and normalisation from its metadata) = on the last checkpoint"

# Checkpoints and final.safetensors carry the model's card (input shape, classes and their
# names, normalisation, training counts): eval and explain need only the test files.
mkdir "$TMP/testonly"
cp /usr/share/datasets/fashion-mnist/t10k-* "$TMP/testonly/"
"$BIN" inspect "$cnn" | grep -q "input 1 x 28 x 28, 10 classes (T-shirt/top, Trouser, .*, Ankle boot); normalisation mean" || fail "inspect shows no card"
run 2 eval "$cnn" --json --threads 1 > "$TMP/eval-full.json" 2> /dev/null || fail "eval with the training set"
run 2 eval "$cnn" --json --threads 1 --data "$TMP/testonly" > "$TMP/eval-test.json" 2> /dev/null || fail "eval with the test files only"
run 1 explain "$TMP/cnn/final.safetensors" --per-class 1 --json --threads 1 --data "$TMP/testonly" --out "$TMP/testonly-maps" > "$TMP/testonly.log" 2>&1 \
  || { cat "$TMP/testonly.log"; fail "explain with the test files only"; }
python3 - "$TMP/eval-full.json" "$TMP/eval-test.json" "$TMP/cnn/metrics.jsonl" "$TMP/testonly-maps/maps.json" "$TMP/final/maps.json" "$TMP/cnn/final.safetensors" <<'PY' || fail "the card"
import json, struct, sys
full, test = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])
done = [json.loads(l) for l in open(sys.argv[3])][-1]
for key in ("test_acc", "many", "medium", "few", "per_class_acc"):
    assert full[key] == test[key] == done[key], (key, full[key], test[key], done[key])
a, b = json.load(open(sys.argv[4])), json.load(open(sys.argv[5]))
assert a["items"] == b["items"], "maps differ without the training set"
assert a["class_names"][7] == "Sneaker", a.get("class_names")
raw = open(sys.argv[6], "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
assert meta["input_shape"] == "1,28,28" and meta["classes"] == "10" and json.loads(meta["class_names"])[9] == "Ankle boot", meta
assert [int(x) for x in meta["train_counts"].split(",")] == done["class_counts"], (meta["train_counts"], done["class_counts"])
PY
grep -q "true class 7 Sneaker" "$TMP/testonly-maps/index.html" || fail "the gallery does not name the classes"
pass "checkpoints and final.safetensors carry their card: eval and explain with the test files alone give the run's figures and maps, with class names"

# The report of a run shows its worst classes' misclassified images (the cnn run above);
# --no-report-explanations leaves them out.
grep -q "Misclassified test images of the worst classes (Grad-CAM" "$TMP/cnn/report.html" || fail "report.html has no explanation section"
[ -s "$TMP/cnn/explanations/maps.json" ] || fail "the run directory has no explanations/maps.json"
run 1 --model mlp --max-steps 5 --epochs 1 --threads 1 --no-report-explanations --run-dir "$TMP/quiet" > /dev/null 2>&1 || fail "--no-report-explanations run"
! grep -q "Misclassified test images" "$TMP/quiet/report.html" && [ ! -e "$TMP/quiet/explanations" ] || fail "--no-report-explanations still explains"
grep -q "Misclassified test images of the worst classes (saliency" "$TMP/mlp/report.html" || fail "the mlp's report has no saliency section"
pass "report.html explains the worst classes' misclassified images (Grad-CAM, saliency for the mlp); --no-report-explanations turns it off"

# --init-from: a run that starts from final.safetensors and takes no step ends with its weights.
run 2 --model cnn --init-from "$TMP/cnn/final.safetensors" --max-steps 0 --epochs 1 --threads 1 --run-dir "$TMP/init" > "$TMP/init.log" 2>&1 \
  || { cat "$TMP/init.log"; fail "--init-from"; }
python3 - "$TMP/cnn/final.safetensors" "$TMP/init/final.safetensors" <<'PY' || fail "--init-from did not start from the file's weights"
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys()
bad = [k for k in a if a[k] != b[k] and not k.endswith("num_batches_tracked")]
assert not bad, bad
PY
if run 1 --model resnet32 --init-from "$TMP/cnn/final.safetensors" --max-steps 0 --epochs 1 --run-dir "$TMP/init-bad" > "$TMP/init-bad.log" 2>&1; then
  fail "--init-from with another model's weights accepted"
fi
grep -q "final.safetensors: tensor conv1.weight has shape \[32, 1, 3, 3\], expected \[16, 1, 3, 3\]" "$TMP/init-bad.log" || { cat "$TMP/init-bad.log"; fail "--init-from: no clear message"; }
# Same weights, so the same report images, found from the evaluation's predictions on 2 ranks.
cmp -s "$TMP/cnn/explanations/maps.json" "$TMP/init/explanations/maps.json" || fail "the report's explanations differ between 1 and 2 ranks"
pass "--init-from FILE.safetensors starts from its weights (2 ranks); another model's weights are refused with the tensor named"

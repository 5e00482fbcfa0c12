#!/usr/bin/env bash
# Explanations against the references: verify-explanations passes every item of the golden
# file (captum and pytorch-grad-cam maps of a cnn and a resnet32); a damaged copy fails with
# the item named; weights of another model are refused with the tensor named.
source "$(dirname "$0")/common.bash"

GOLDEN=Tests/golden/explain
"$BIN" verify-explanations "$GOLDEN/explain.json" > "$TMP/verify.log" || { cat "$TMP/verify.log"; fail "verify-explanations on the golden file"; }
grep -qE "^22 passed, 0 failed$" "$TMP/verify.log" || { cat "$TMP/verify.log"; fail "expected 22 items to pass"; }
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
  && grep -qE "^20 passed, 2 failed$" "$TMP/broken.log" || { cat "$TMP/broken.log"; fail "the damaged items are not named"; }
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

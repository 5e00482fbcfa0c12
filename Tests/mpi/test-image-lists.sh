#!/usr/bin/env bash
# List files (--train-list, --val-list, --test-list: the ImageNet-LT layout) and image folders'
# val/: lists naming an image folder's files in its order train to its weights bit for bit on
# 2 ranks; a validation list and a val/ folder beside test/ are the validation split; a missing
# image, a bad label or line, a test label beyond the classes, and splits given twice are
# refused naming the file and the line, with nothing written.
source "$(dirname "$0")/common.bash"
PY=$(test_python pillow numpy)
"$PY" Tests/mpi/make_image_sets.py /usr/share/datasets/fashion-mnist "$TMP/s" 1 --limit=3000 > /dev/null
D=$TMP/s/folder
python3 - "$D" <<'PY'
import os, sys
d = sys.argv[1]
names = open(d + "/classes.txt").read().split()
for split in ("train", "test"):
    rows = sorted((f, c) for c, n in enumerate(names) for f in os.listdir(f"{d}/{split}/{n}"))
    with open(f"{d}/{split}.txt", "w") as out:
        out.write("# relative/path.png LABEL\n")
        out.writelines(f"{split}/{names[c]}/{f} {c}\n" for f, c in rows)
PY
base=(--imbalance-ratio 10 --epochs 2 --batch-size 40 --loss ce --threads 1 --retrieval-every 0 --no-report-explanations
      --no-tensorboard --data "$D" --cache "$TMP/cache")
run 2 "${base[@]}" --run-dir "$TMP/folder" > "$TMP/folder.log" 2>&1 || { cat "$TMP/folder.log"; fail "the image folder run"; }
run 2 "${base[@]}" --train-list "$D/train.txt" --test-list "$D/test.txt" --run-dir "$TMP/list" > "$TMP/list.log" 2>&1 \
  || { cat "$TMP/list.log"; fail "the list run"; }
python3 Tests/mpi/safetensors_diff.py "$TMP/folder/final.safetensors" "$TMP/list/final.safetensors" 0 > /dev/null \
  || fail "lists of the folder's files train to other weights than the folder"
cmp -s "$TMP/folder/subset.npy" "$TMP/list/subset.npy" || fail "lists keep other training samples than the folder"
a=$("$BIN" eval "$TMP/list/final.safetensors" --data "$D" --test-list "$D/test.txt" --json \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['test_acc'])")
b=$("$BIN" eval "$TMP/list/checkpoints/$(ls "$TMP/list/checkpoints" | tail -1)" --json \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['test_acc'])")
c=$(python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]['test_acc'])" "$TMP/list/metrics.jsonl")
[ "$a" = "$c" ] && [ "$b" = "$c" ] || fail "eval --test-list ($a) and eval of the checkpoint ($b) differ from training's $c"
pass "--train-list/--test-list naming an image folder's files in its order: its weights bit for bit on 2 ranks; eval reads the lists"

head -301 "$D/test.txt" | tail -300 > "$D/val.txt"
run 2 "${base[@]}" --train-list "$D/train.txt" --val-list "$D/val.txt" --test-list "$D/test.txt" --run-dir "$TMP/vlist" \
  > "$TMP/vlist.log" 2>&1 || { cat "$TMP/vlist.log"; fail "the run with --val-list"; }
grep -q "^validation split ($D/val.txt, never trained on): 300 samples" "$TMP/vlist.log" || { cat "$TMP/vlist.log"; fail "--val-list is not the validation split"; }
grep -q '"val_balanced_acc"' "$TMP/vlist/metrics.jsonl" && [ -f "$TMP/vlist/best.safetensors" ] || fail "no val_* figures or best model with --val-list"
cp -r "$D" "$TMP/withval" && cp -r "$D/test" "$TMP/withval/val"
run 1 "${base[@]}" --data "$TMP/withval" --run-dir "$TMP/vfolder" > "$TMP/vfolder.log" 2>&1 || { cat "$TMP/vfolder.log"; fail "a folder with val/"; }
grep -q "^validation split (the data's val/, never trained on): " "$TMP/vfolder.log" || { cat "$TMP/vfolder.log"; fail "val/ beside test/ is not the validation split"; }
grep -q "^test images: " "$TMP/vfolder.log" && grep -q '"val_acc"' "$TMP/vfolder/metrics.jsonl" || fail "val/ run without test or val figures"
pass "--val-list and a val/ folder beside test/ are the validation split (val_*, best.safetensors); test/ stays the test set"

base+=(--test-list "$D/test.txt")
sed '5s|/0|/9|' "$D/train.txt" > "$TMP/missing.txt"; refuse "missing.txt: line 5 image" --train-list "$TMP/missing.txt"
sed '3s| [0-9]*$| x|' "$D/train.txt" > "$TMP/label.txt"; refuse "label.txt: line 3 label" --train-list "$TMP/label.txt"
sed '7s| [0-9]*$||' "$D/train.txt" > "$TMP/short.txt"; refuse "short.txt: line 7" --train-list "$TMP/short.txt"
sed '4s| [0-9]*$| 12|' "$D/test.txt" > "$TMP/beyond.txt"
refuse "beyond.txt" --train-list "$D/train.txt" --test-list "$TMP/beyond.txt"
refuse "--val-list is the validation split" --train-list "$D/train.txt" --val-list "$D/val.txt" --val-split 5
base=("${base[@]:0:${#base[@]}-2}")
refuse "has its own validation split" --data "$TMP/withval" --val-split 5
refuse "name a data set's images together" --train-list "$D/train.txt"
pass "a missing image, a bad label, a line without one, a test label beyond the classes, lists half given, two validation splits: refused"

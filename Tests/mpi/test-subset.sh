#!/usr/bin/env bash
# --subset: LDAM-DRW's CIFAR-LT subsets equal NumPy's (its own code, run here) for labels this
# test makes, 10 and 100 classes, ratios 10 to 200, both profiles, several seeds, on 1 to 3 ranks
# and on sharded files; subset.npy records the samples trained on and reads back as --subset
# FILE; a text subset on sharded data; bad subsets refused before anything is written.
source "$(dirname "$0")/common.bash"

PY=$(test_python numpy)
"$PY" - "$TMP" <<'PY'
import numpy as np, os, sys
tmp = sys.argv[1]
def write(d, labels, shards=0):
    os.makedirs(d, exist_ok=True)
    n = len(labels)
    images = (np.arange(n * 4) % 251).astype(np.uint8).reshape(n, 1, 2, 2)
    if shards:
        for s, part in enumerate(np.array_split(np.arange(n), shards)):
            np.save(f"{d}/train_images-{s:05d}.npy", images[part]); np.save(f"{d}/train_labels-{s:05d}.npy", labels[part])
    else:
        np.save(f"{d}/train_images.npy", images); np.save(f"{d}/train_labels.npy", labels)
    k = labels.max() + 1
    np.save(f"{d}/test_images.npy", images[:2 * k]); np.save(f"{d}/test_labels.npy", np.arange(2 * k) % k)
rng = np.random.RandomState(5)
for k, per_class in [(10, 250), (100, 210)]:
    labels = rng.permutation(np.repeat(np.arange(k), per_class) if k == 100 else
                             np.concatenate([np.repeat(np.arange(k), per_class), rng.randint(0, k, 13)]))
    write(f"{tmp}/k{k}", labels.astype(np.int64))
    if k == 10: write(f"{tmp}/k{k}-sharded", labels.astype(np.int64), shards=3)
PY
base=(--max-steps 0 --retrieval-every 0 --no-report-explanations --no-tensorboard --threads 1 --batch-size 20)
# check DATA RATIO PROFILE SEED RUN: RUN/subset.npy is LDAM-DRW's subset (reference: its code, NumPy).
check() {
  "$PY" - "$@" <<'PY' || fail "subset.npy of $5 is not LDAM-DRW's subset ($*)"
import glob, sys
import numpy as np
sys.path.insert(0, "Tests/golden/generate")
from ldam_subsets import ldam_subset
data, ratio, profile, seed, run = sys.argv[1:]
labels = np.concatenate([np.load(f) for f in sorted(glob.glob(data + "/train_labels*.npy"))])
want = ldam_subset(labels, int(labels.max()) + 1, profile, 1 / float(ratio), int(seed))
got = np.load(run + "/subset.npy")
assert got.dtype == np.int64 and got.tolist() == want, (len(got), len(want))
PY
}
i=0
for spec in "1 k10 50 exp 3" "2 k10 200 step 0" "3 k100 100 exp 7" "1 k100 10 step 1" "2 k100 200 exp 12345" \
            "3 k10-sharded 100 exp 0" "2 k10-sharded 10 step 2"; do
  read -r n data ratio profile seed <<< "$spec"
  i=$((i + 1))
  run "$n" "${base[@]}" --data "$TMP/$data" --subset ldam --imbalance-ratio "$ratio" --imbalance-profile "$profile" \
    --data-seed "$seed" --run-dir "$TMP/l$i" > "$TMP/l$i.log" 2>&1 || { cat "$TMP/l$i.log"; fail "--subset ldam ($spec)"; }
  check "$TMP/$data" "$ratio" "$profile" "$seed" "$TMP/l$i"
done
grep -q "^training subset (--subset): LDAM-DRW's subset, data seed 0, " "$TMP/l6.log" || { cat "$TMP/l6.log"; fail "the subset is not announced"; }
pass "--subset ldam = LDAM-DRW's NumPy subset: 10 and 100 classes, ratios 10-200, exp and step, 5 seeds, 1-3 ranks, sharded files"

# subset.npy reads back as --subset FILE: the same samples; a text file of NumPy's choosing on
# sharded data over 2 ranks trains on exactly its samples.
run 2 "${base[@]}" --data "$TMP/k10" --subset "$TMP/l1/subset.npy" --run-dir "$TMP/f1" > "$TMP/f1.log" 2>&1 \
  || { cat "$TMP/f1.log"; fail "--subset subset.npy"; }
cmp -s "$TMP/l1/subset.npy" "$TMP/f1/subset.npy" || fail "--subset FILE trains on other samples than the file's"
"$PY" -c 'import numpy as np; r = np.random.RandomState(1); print("# chosen\n" + "\n".join(" ".join(map(str, row)) for row in r.choice(2513, 600, replace=False).reshape(100, 6)))' > "$TMP/chosen.txt"
run 2 "${base[@]}" --data "$TMP/k10-sharded" --subset "$TMP/chosen.txt" --run-dir "$TMP/f2" > "$TMP/f2.log" 2>&1 \
  || { cat "$TMP/f2.log"; fail "--subset chosen.txt"; }
"$PY" -c '
import numpy as np, sys
want = sorted(int(t) for line in open(sys.argv[1]) if not line.startswith("#") for t in line.split())
assert np.load(sys.argv[2]).tolist() == want' "$TMP/chosen.txt" "$TMP/f2/subset.npy" || fail "a text subset on sharded data"
pass "subset.npy reads back as --subset; a text subset on 3 shards over 2 ranks trains on exactly its 600 samples"

# The default selection writes its subset too, and --val-split N beside a subset comes from outside it.
run 1 "${base[@]}" --data "$TMP/k10" --subset "$TMP/chosen.txt" --val-split 5 --run-dir "$TMP/v" > "$TMP/v.log" 2>&1 \
  || { cat "$TMP/v.log"; fail "--subset with --val-split 5"; }
cmp -s "$TMP/f2/subset.npy" "$TMP/v/subset.npy" || fail "--val-split N changed the subset trained on"
grep -q "^validation split (--val-split 5, never trained on): 50 samples" "$TMP/v.log" || { cat "$TMP/v.log"; fail "no validation split"; }
pass "--val-split 5 beside --subset takes its samples from outside the subset, which is trained on as given"

base+=(--data "$TMP/k10")
printf '1\n2\n2513\n' > "$TMP/range.txt"; refuse "range.txt: line 3" --subset "$TMP/range.txt"
printf '1 2\n1\n' > "$TMP/twice.txt"; refuse "1 again" --subset "$TMP/twice.txt"
printf '1 x2\n' > "$TMP/word.txt"; refuse "'x2'" --subset "$TMP/word.txt"
"$PY" -c 'import numpy as np; l = np.load("'"$TMP"'/k10/train_labels.npy"); np.save("'"$TMP"'/nine.npy", np.flatnonzero(l != 4))'
refuse "class 4.*lists no sample of it" --subset "$TMP/nine.npy"
refuse "takes 3 samples of each class from outside --subset ldam, which leaves [0-2] of class" --subset ldam --val-split 3
refuse "no such file\|not found\|missing" --subset "$TMP/absent.npy"
refuse "data-seed.*0...4294967295" --subset ldam --data-seed 4294967296
pass "an index out of range, twice or not a number, a class left empty, a split the subset cannot give, a missing file, a seed NumPy refuses: refused"

"$BIN" train --recipe ldam-drw --help > /dev/null 2>&1 || true
run 1 "${base[@]}" --recipe ldam-drw --run-dir "$TMP/recipe" > "$TMP/recipe.log" 2>&1 || { cat "$TMP/recipe.log"; fail "--recipe ldam-drw"; }
grep -q '"subset" : "ldam"' "$TMP/recipe/config.json" || fail "--recipe ldam-drw does not use --subset ldam"
pass "--recipe ldam-drw draws LDAM-DRW's subset"

#!/usr/bin/env bash
# Augmentation is drawn from (seed, epoch, sample) and mixing from (seed, epoch, step) alone: on
# 1, 2 and 3 ranks, --augment with --cutout, --mixup, --cutmix, both, --autoaugment and --randaugment train the same parameters
# (EQ_TOL of the update, as test-samplers.sh), and each changes what is trained. From 64 px
# --augment takes resized crops: 1 and 2 ranks alike over 2 steps (with synchronised batch norm;
# over more steps its rounding grows as fast with or without augmentation), the centre crop
# recorded in the model's card and used by eval. What cannot mix is refused before anything is written.
source "$(dirname "$0")/common.bash"
EQ_TOL=${EQ_TOL:-2e-3}

# A small training set: about 7 steps an epoch. Strong augmentation makes the cnn chaotic sooner (a
# ReLU or max-pool tie that rounding flips), and over 50 steps 1 and 3 ranks drift apart by 2e-3.
python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 601 300
base=(--data "$TMP/data" --model cnn --imbalance-ratio 10 --batch-size 40 --epochs 2 --loss ce --lr 0.02
      --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --no-tensorboard --threads 1)

run 1 "${base[@]}" --max-steps 0 --run-dir "$TMP/init" > /dev/null 2>&1 || fail "initial weights"
run 1 "${base[@]}" --run-dir "$TMP/plain" > /dev/null 2>&1 || fail "plain run"
for options in "--augment --cutout 8" "--mixup 0.4" "--cutmix 1" "--mixup 0.2 --cutmix 1 --augment" \
               "--augment --autoaugment cifar10" "--randaugment 2,9"; do
  name=$(echo "$options" | tr -d ' -')
  for n in 1 2 3; do
    # shellcheck disable=SC2086
    run "$n" "${base[@]}" $options --run-dir "$TMP/$name-$n" > "$TMP/$name-$n.log" 2>&1 \
      || { cat "$TMP/$name-$n.log"; fail "$options on $n ranks"; }
  done
  for n in 2 3; do
    diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/$name-1/final.safetensors" "$TMP/$name-$n/final.safetensors" "$EQ_TOL" \
           --init "$TMP/init/final.safetensors") || fail "$options: 1 and $n ranks differ by $diff of the update"
  done
  python3 Tests/mpi/safetensors_diff.py "$TMP/plain/final.safetensors" "$TMP/$name-1/final.safetensors" 0.05 \
    --init "$TMP/init/final.safetensors" > /dev/null && fail "$options: trains what a run without it trains"
  pass "$options: 1, 2 and 3 ranks train alike ($diff of the update), and not as without it"
done
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); assert (c["mixup"], c["cutmix"], c["cutout"]) == (0.2, 1, 0), c' \
  "$TMP/mixup0.2cutmix1augment-1/config.json" || fail "config.json does not record --mixup and --cutmix"

# 64 px images (an image folder resized): resized crops, the test images resized to 8/7 and centre-cropped.
PY=$(test_python pillow)
"$PY" Tests/mpi/make_image_sets.py /usr/share/datasets/fashion-mnist "$TMP/s" 1 --limit=600 > /dev/null
big=(--data "$TMP/s/folder" --image-size 64 --model resnet10 --batch-size 20 --epochs 1 --max-steps 2 --lr 0.02
     --loss ce --imbalance-ratio 1 --checkpoint-every 0 --retrieval-every 0 --no-report-explanations --no-tensorboard
     --threads 1 --augment --sync-batchnorm)
for n in 1 2; do
  run "$n" "${big[@]}" --run-dir "$TMP/big-$n" > "$TMP/big-$n.log" 2>&1 || { cat "$TMP/big-$n.log"; fail "64 px on $n ranks"; }
done
run 1 "${big[@]}" --max-steps 0 --run-dir "$TMP/big-init" > /dev/null 2>&1 || fail "initial weights at 64 px"
diff=$(python3 Tests/mpi/safetensors_diff.py "$TMP/big-1/final.safetensors" "$TMP/big-2/final.safetensors" "$EQ_TOL" --init "$TMP/big-init/final.safetensors") \
  || fail "resized crops: 1 and 2 ranks differ by $diff"
python3 - "$TMP/big-1/final.safetensors" <<'PY' || fail "the card does not record the centre crop"
import json, struct, sys
data = open(sys.argv[1], "rb").read()
meta = json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])["__metadata__"]
assert meta.get("test_crop") == "resize 8/7, centre crop", meta
PY
want=$(grep -o "test accuracy [0-9.]*%" "$TMP/big-1.log")
got=$(run 1 eval "$TMP/big-1/final.safetensors" --data "$TMP/s/folder" --threads 1 2>&1 | grep -o "test accuracy [0-9.]*%")
[ "$got" = "$want" ] || fail "eval of the resized-crop model: '$got', training said '$want'"
pass "--augment at 64 px: resized crops alike on 1 and 2 ranks ($diff), the centre crop in the card and in eval ($got)"

refuse "--cutmix trains on soft targets, which --loss ib does not take" --cutmix 1 --loss ib
refuse "--mixup trains on soft targets, which --loss crl does not take" --mixup 0.2 --loss crl
refuse "--metric-loss triplet needs each image's own class" --mixup 0.2 --metric-loss triplet
refuse "--autoaugment and --randaugment are two policies" --autoaugment imagenet --randaugment 2,9
refuse "N in 1...16 and M in 0...30, got 2,31" --randaugment 2,31
refuse "autoaugment" --autoaugment cifar100
refuse "--mixup" --mixup -1
refuse "--cutout" --cutout -3
pass "mixing a loss that needs hard labels, a metric loss, two policies, an unknown policy or bad values: refused, nothing written"

#!/usr/bin/env bash
# Image folders and tar shards: the real Fashion-MNIST written as PNG folders and as WebDataset
# tar shards (Pillow, in this test only) trains to bit-identical weights as from its IDX files on
# 1 and 2 ranks; the decoded cache is reused; bad images and layouts are refused naming the
# file, with nothing written.
source "$(dirname "$0")/common.bash"
FMNIST=/usr/share/datasets/fashion-mnist
PY=$(test_python pillow numpy)
"$PY" Tests/mpi/make_image_sets.py "$FMNIST" "$TMP/sets" 6
TRAIN=(--max-steps 20 --epochs 1 --threads 1 --no-report-explanations --no-tensorboard)
SHARDS="$TMP/sets/tars/train-{00000..00005}.tar"

for n in 1 2; do
  run "$n" "${TRAIN[@]}" --run-dir "$TMP/idx-$n" > "$TMP/idx-$n.log" 2>&1 || { cat "$TMP/idx-$n.log"; fail "IDX run on $n ranks"; }
  run "$n" "${TRAIN[@]}" --data "$TMP/sets/folder" --cache "$TMP/cache-$n" --run-dir "$TMP/folder-$n" > "$TMP/folder-$n.log" 2>&1 \
    || { cat "$TMP/folder-$n.log"; fail "image folder run on $n ranks"; }
  run "$n" "${TRAIN[@]}" --data "$SHARDS" --cache "$TMP/cache-$n" --run-dir "$TMP/tar-$n" > "$TMP/tar-$n.log" 2>&1 \
    || { cat "$TMP/tar-$n.log"; fail "tar shard run on $n ranks"; }
  grep -q "training images: 60000 decoded" "$TMP/folder-$n.log" || { cat "$TMP/folder-$n.log"; fail "no decoding note"; }
  for kind in folder tar; do
    python3 Tests/mpi/safetensors_diff.py "$TMP/idx-$n/final.safetensors" "$TMP/$kind-$n/final.safetensors" 0 > /dev/null \
      || fail "$kind weights differ from IDX's on $n ranks: $(python3 Tests/mpi/safetensors_diff.py "$TMP/idx-$n/final.safetensors" "$TMP/$kind-$n/final.safetensors")"
  done
done
pass "PNG folders and tar shards train to the IDX run's weights bit for bit on 1 and 2 ranks"

run 2 "${TRAIN[@]}" --data "$TMP/sets/folder" --cache "$TMP/cache-2" --run-dir "$TMP/folder-again" > "$TMP/again.log" 2>&1 || { cat "$TMP/again.log"; fail "second run"; }
grep -q "training images: 60000 read from the cache" "$TMP/again.log" || { cat "$TMP/again.log"; fail "the cache was not used"; }
python3 Tests/mpi/safetensors_diff.py "$TMP/folder-2/final.safetensors" "$TMP/folder-again/final.safetensors" 0 > /dev/null || fail "cached run differs"
# The default cache is beside the run directory.
run 1 --max-steps 1 --epochs 1 --no-report-explanations --data "$TMP/sets/folder" --run-dir "$TMP/runs/a" > /dev/null 2>&1 || fail "default cache run"
ls "$TMP/runs/.image-cache/"training-*-images.npy > /dev/null || fail "no cache beside the run directory"
# eval of a folder-trained checkpoint on the folder's test set gives the IDX model's figures.
a=$("$BIN" eval "$TMP/folder-1/final.safetensors" --data "$TMP/sets/folder" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['test_acc'])")
b=$("$BIN" eval "$TMP/idx-1/final.safetensors" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['test_acc'])")
[ "$a" = "$b" ] || fail "eval on the image folder gives $a, on IDX $b"
grep -q "worst class [0-9] ([A-Za-z]" "$TMP/folder-1.log" || { tail -5 "$TMP/folder-1.log"; fail "the worst class is not named"; }
pass "the decoded cache is reused (default: beside the run), eval reads the folder, classes are named"

# Bad input, each on 2 ranks: refused with the file named, no run directory, no cache file.
"$PY" Tests/mpi/make_image_sets.py "$FMNIST" "$TMP/small" 2 --limit=400 > /dev/null
bad() {  # bad NAME PATTERN [ARGS...]: a copy of the small folder set, mutated by the caller
  local name=$1 pattern=$2; shift 2
  if run 2 --max-steps 1 --epochs 1 --imbalance-ratio 1 --data "$@" --cache "$TMP/bad-cache-$name" --run-dir "$TMP/bad-$name" > "$TMP/bad-$name.log" 2>&1; then
    fail "$name accepted"
  fi
  grep -q -- "$pattern" "$TMP/bad-$name.log" || { cat "$TMP/bad-$name.log"; fail "$name: no message naming $pattern"; }
  [ ! -e "$TMP/bad-$name" ] || fail "$name: a run directory was written"
  [ -z "$(ls "$TMP/bad-cache-$name" 2>/dev/null)" ] || fail "$name: a cache file was written"
}
copy() { rm -rf "$TMP/c"; cp -r "$TMP/small/folder" "$TMP/c"; }
copy; head -c 100 /dev/urandom > "$TMP/c/train/Coat/00004.png"; bad corrupt "train/Coat/00004.png" "$TMP/c"
copy; f=$(ls "$TMP/c/train/Bag/"*.png | head -1); python3 -c "import sys; b=open(sys.argv[1],'rb').read(); open(sys.argv[1],'wb').write(b[:len(b)//2])" "$f"
bad truncated-png "$(basename "$f")" "$TMP/c"
copy; "$PY" -c "
from PIL import Image; import io, sys
im = Image.open(sys.argv[1]); out = io.BytesIO(); im.save(out, format='JPEG', quality=90); b = out.getvalue()
open(sys.argv[2], 'wb').write(b[:len(b) * 2 // 3])" "$(ls "$TMP/c/train/Dress/"*.png | head -1)" "$TMP/c/train/Dress/99999.jpg"
bad truncated-jpeg "99999.jpg" "$TMP/c"
copy; echo "notes" > "$TMP/c/train/Shirt/README.txt"; bad non-image "README.txt" "$TMP/c"
copy; rm "$TMP/c/train/Sandal/"*; bad empty-class "Sandal" "$TMP/c"
copy; mkdir "$TMP/c/test/Hat"; cp "$(ls "$TMP/c/test/Bag/"*.png | head -1)" "$TMP/c/test/Hat/"; bad unknown-test-class "Hat" "$TMP/c"
copy; "$PY" -c "from PIL import Image; Image.new('L', (30, 28)).save('$TMP/c/train/Coat/99998.png')"; bad size "99998.png" "$TMP/c"
run 2 --max-steps 1 --epochs 1 --imbalance-ratio 1 --no-report-explanations --data "$TMP/c" --image-size 28 --run-dir "$TMP/resized" > "$TMP/resized.log" 2>&1 \
  || { cat "$TMP/resized.log"; fail "--image-size 28 did not resize the odd image"; }
mkdir -p "$TMP/t"; cp "$TMP/small/tars/"*.tar "$TMP/small/tars/classes.txt" "$TMP/t/"
"$PY" -c "
import tarfile, io, sys
with tarfile.open(sys.argv[1], 'w', format=tarfile.USTAR_FORMAT) as t:
    info = tarfile.TarInfo('00001.png'); data = open(sys.argv[2], 'rb').read(); info.size = len(data); t.addfile(info, io.BytesIO(data))
" "$TMP/t/train-00001.tar" "$(ls "$TMP/small/folder/train/Bag/"*.png | head -1)"
bad tar-no-cls "train-00001.tar" "$TMP/t/train-{00000..00001}.tar"
cp "$TMP/small/tars/train-00001.tar" "$TMP/t/"; head -c 30000 "$TMP/small/tars/train-00000.tar" > "$TMP/t/train-00000.tar"
bad tar-truncated "train-00000.tar" "$TMP/t/train-{00000..00001}.tar"
bad tar-missing "train-00002.tar" "$TMP/t/train-{00000..00002}.tar"
pass "corrupt, truncated (PNG, JPEG, tar) and non-image files, an empty class, an unknown test class, an odd size, a shard without labels: refused, file named, nothing written"

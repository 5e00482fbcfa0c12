#!/usr/bin/env python3
"""Writes Fashion-MNIST (IDX, gzip) as NumPy .npy files without NumPy:
train_images-0000i.npy / train_labels-0000i.npy shards (uint8 N x 28 x 28, int64 labels),
or train_images.npy / train_labels.npy when SHARDS is 0, and test_images.npy / test_labels.npy.
usage: make_npy_shards.py IDX_DIR OUT_DIR SHARDS [TRAIN_LIMIT TEST_LIMIT]"""
import gzip, os, struct, sys

def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", data[8:16])
        return data[16:16 + n * h * w], (n, h, w)
    return data[8:8 + n], (n,)

def npy(path, descr, shape, payload):
    shape_text = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload)

src, out, shards = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
def find(base):
    for name in (base, base + ".gz"):
        if os.path.exists(os.path.join(src, name)):
            return os.path.join(src, name)
    raise SystemExit("missing " + base)
train_limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
test_limit = int(sys.argv[5]) if len(sys.argv) > 5 else None
images, (n, h, w) = idx(find("train-images-idx3-ubyte"))
labels, _ = idx(find("train-labels-idx1-ubyte"))
n = min(n, train_limit or n)
per = (n + max(shards, 1) - 1) // max(shards, 1)
for s in range(max(shards, 1)):
    lo, hi = s * per, min(n, (s + 1) * per)
    suffix = "-%05d" % s if shards > 0 else ""
    npy(os.path.join(out, "train_images%s.npy" % suffix), "|u1", (hi - lo, h, w), images[lo * h * w:hi * h * w])
    npy(os.path.join(out, "train_labels%s.npy" % suffix), "<i8", (hi - lo,), b"".join(struct.pack("<q", y) for y in labels[lo:hi]))
timages, (tn, _, _) = idx(find("t10k-images-idx3-ubyte"))
tn = min(tn, test_limit or tn)
tlabels, _ = idx(find("t10k-labels-idx1-ubyte"))
npy(os.path.join(out, "test_images.npy"), "|u1", (tn, h, w), timages)
npy(os.path.join(out, "test_labels.npy"), "|u1", (tn,), tlabels)

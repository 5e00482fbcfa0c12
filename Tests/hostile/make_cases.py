#!/usr/bin/env python3
"""Writes the hostile-input set: damaged or crafted data files, checkpoints, config files and
option values, each a case for Tests/mpi/test-hostile.sh.

usage: make_cases.py OUT_DIR CHECKPOINT

OUT_DIR/cases.tsv gets one line per case: NAME <tab> EXPECT <tab> SAYS <tab> ARGUMENTS
(tab-separated), where EXPECT is "refuse" (a clean non-zero exit with a message, no run
directory) or "any" (whatever the outcome, no crash and no hang), and SAYS is text the
message must hold ("-" for none). RUN in the arguments stands for a fresh run directory. Everything is derived from a fixed seed: the same cases on every machine."""
import gzip, json, os, random, struct, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xxh64 import xxh64  # noqa: E402

OUT, CHECKPOINT = sys.argv[1], sys.argv[2]
rng = random.Random(14)
cases = []
TRAIN = ["--epochs", "1", "--max-steps", "1", "--checkpoint-every", "0", "--threads", "1", "--eval-batch-size", "16", "--imbalance-ratio", "1"]


def case(name, expect, args):
    cases.append((name, expect, args))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


# MARK: - Synthetic images: 64 training and 16 test images of 8 x 8 pixels, labels 0..9
# (IDX means 10 classes: every one must have samples).
N, TEST, H, W, K = 64, 16, 8, 8, 10
pixels = bytes(rng.randrange(256) for _ in range(N * H * W))
test_pixels = bytes(rng.randrange(256) for _ in range(TEST * H * W))
labels = bytes(i % K for i in range(N))
test_labels = bytes(i % K for i in range(TEST))


def idx_images(n, h, w, body, magic=0x803):
    return struct.pack(">IIII", magic, n, h, w) + body


def idx_labels(n, body, magic=0x801):
    return struct.pack(">II", magic, n) + body


def idx_dir(name, train_images=None, train_labels=None, test_images=None, test_labels_=None, gz=False):
    d = os.path.join(OUT, "data", name)
    files = {
        "train-images-idx3-ubyte": train_images if train_images is not None else idx_images(N, H, W, pixels),
        "train-labels-idx1-ubyte": train_labels if train_labels is not None else idx_labels(N, labels),
        "t10k-images-idx3-ubyte": test_images if test_images is not None else idx_images(TEST, H, W, test_pixels),
        "t10k-labels-idx1-ubyte": test_labels_ if test_labels_ is not None else idx_labels(TEST, test_labels),
    }
    for f, data in files.items():
        if isinstance(data, str) and data == "DIR":
            os.makedirs(os.path.join(d, f), exist_ok=True)
        elif gz:
            write(os.path.join(d, f + ".gz"), gzip.compress(data))
        else:
            write(os.path.join(d, f), data)
    return d


def data_case(name, expect, directory, model="mlp"):
    case(name, expect, ["--data", directory, "--model", model, "--batch-size", "16", "--run-dir", "RUN"] + TRAIN)


data_case("idx-sound", "any", idx_dir("idx-sound"))
data_case("idx-sound-gz", "any", idx_dir("idx-sound-gz", gz=True))
sizes = [0, 1, 2, 3, 7, 8, 9, 63, 65, 1 << 16, (1 << 31) - 1, 1 << 31, (1 << 32) - 1]
for n in [0, 1, 63, 65, (1 << 31) - 1, (1 << 32) - 1]:
    data_case("idx-count-%d" % n, "refuse", idx_dir("idx-count-%d" % n, train_images=idx_images(n, H, W, pixels)))
for h in sizes:
    for w in [h, 8]:
        name = "idx-size-%dx%d" % (h, w)
        expect = "any" if (h, w) == (8, 8) else "refuse"
        data_case(name, expect, idx_dir(name, train_images=idx_images(N, h, w, pixels)))
for magic in [0, 0x801, 0x802, 0x804, 0x0C03, 0x0D03, 0xFFFFFFFF, 0x03080000]:
    data_case("idx-magic-%x" % magic, "refuse", idx_dir("idx-magic-%x" % magic, train_images=idx_images(N, H, W, pixels, magic=magic)))
    data_case("idx-label-magic-%x" % magic, "any" if magic == 0x801 else "refuse", idx_dir("idx-label-magic-%x" % magic, train_labels=idx_labels(N, labels, magic=magic)))
whole = idx_images(N, H, W, pixels)
for cut in [0, 1, 3, 4, 15, 16, 17, len(whole) // 2, len(whole) - 1]:
    data_case("idx-cut-%d" % cut, "refuse", idx_dir("idx-cut-%d" % cut, train_images=whole[:cut]))
    data_case("idx-cut-gz-%d" % cut, "refuse", idx_dir("idx-cut-gz-%d" % cut, train_images=whole[:cut], gz=True))
data_case("idx-trailing-bytes", "any", idx_dir("idx-trailing-bytes", train_images=whole + b"\0" * 100))
for n in [0, 1, 63, 65, 1 << 20, (1 << 32) - 1]:
    data_case("idx-label-count-%d" % n, "refuse", idx_dir("idx-label-count-%d" % n, train_labels=idx_labels(n, labels)))
for value in [4, 10, 200, 255]:
    bad = bytearray(labels); bad[5] = value
    data_case("idx-label-value-%d" % value, "any" if value < 10 else "refuse",
              idx_dir("idx-label-value-%d" % value, train_labels=idx_labels(N, bytes(bad))))
data_case("idx-test-other-size", "refuse", idx_dir("idx-test-other-size", test_images=idx_images(TEST, 16, 16, bytes(TEST * 256))))
data_case("idx-test-empty", "refuse", idx_dir("idx-test-empty", test_images=idx_images(0, H, W, b""), test_labels_=idx_labels(0, b"")))
data_case("idx-one-pixel-cnn", "refuse", idx_dir("idx-one-pixel", train_images=idx_images(N, 1, 1, pixels[:N]),
                                                test_images=idx_images(TEST, 1, 1, test_pixels[:TEST])), model="cnn")
data_case("idx-one-pixel-mlp", "any", os.path.join(OUT, "data", "idx-one-pixel"), model="mlp")
data_case("idx-one-pixel-resnet32", "any", os.path.join(OUT, "data", "idx-one-pixel"), model="resnet32")
data_case("idx-3x3-cnn", "refuse", idx_dir("idx-3x3", train_images=idx_images(N, 3, 3, pixels[:N * 9]),
                                          test_images=idx_images(TEST, 3, 3, test_pixels[:TEST * 9])), model="cnn")
data_case("idx-4x4-cnn", "any", idx_dir("idx-4x4", train_images=idx_images(N, 4, 4, pixels[:N * 16]),
                                       test_images=idx_images(TEST, 4, 4, test_pixels[:TEST * 16])), model="cnn")
data_case("idx-directory-for-file", "refuse", idx_dir("idx-directory-for-file", train_images="DIR"))
d = idx_dir("idx-broken-gz", gz=True)
with open(os.path.join(d, "train-images-idx3-ubyte.gz"), "r+b") as f:
    f.seek(30); f.write(b"\xff" * 20)
data_case("idx-broken-gz", "refuse", d)
d = os.path.join(OUT, "data", "idx-garbage-gz"); idx_dir("idx-garbage-gz")
os.remove(os.path.join(d, "train-images-idx3-ubyte")); write(os.path.join(d, "train-images-idx3-ubyte.gz"), b"\x1f\x8b" + bytes(rng.randrange(256) for _ in range(200)))
data_case("idx-garbage-gz", "refuse", d)
data_case("data-missing", "refuse", os.path.join(OUT, "data", "does-not-exist"))
data_case("data-is-a-file", "refuse", os.path.join(OUT, "data", "idx-sound", "train-labels-idx1-ubyte"))
os.makedirs(os.path.join(OUT, "data", "empty"), exist_ok=True)
data_case("data-empty-directory", "refuse", os.path.join(OUT, "data", "empty"))

# MARK: - NumPy


def npy(shape_text, descr, body, fortran="False", version=1, magic=b"\x93NUMPY", header=None):
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    h = header.encode("latin-1")
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return magic + bytes([version, 0]) + size + h + body


def npy_dir(name, train_images=None, train_labels=None, test_images=None, test_labels_=None, shards=None):
    d = os.path.join(OUT, "data", name)
    ti = train_images if train_images is not None else npy("(%d, %d, %d)" % (N, H, W), "|u1", pixels)
    tl = train_labels if train_labels is not None else npy("(%d,)" % N, "<i8", b"".join(struct.pack("<q", y) for y in labels))
    si = test_images if test_images is not None else npy("(%d, %d, %d)" % (TEST, H, W), "|u1", test_pixels)
    sl = test_labels_ if test_labels_ is not None else npy("(%d,)" % TEST, "<i8", b"".join(struct.pack("<q", y) for y in test_labels))
    if shards is None:
        write(os.path.join(d, "train_images.npy"), ti)
        write(os.path.join(d, "train_labels.npy"), tl)
    else:
        for index, (a, b) in shards.items():
            if a is not None:
                write(os.path.join(d, "train_images-%05d.npy" % index), a)
            if b is not None:
                write(os.path.join(d, "train_labels-%05d.npy" % index), b)
    write(os.path.join(d, "test_images.npy"), si)
    write(os.path.join(d, "test_labels.npy"), sl)
    return d


def label_bytes(values, fmt="<q"):
    return b"".join(struct.pack(fmt, v) for v in values)


data_case("npy-sound", "any", npy_dir("npy-sound"))
for shape in ["(-1, 8, 8)", "(64, -8, 8)", "(64, 0, 8)", "(0, 8, 8)", "(64, 8)", "(64, 8, 8, 1, 1)", "()", "(64, 8, 8",
              "(4611686018427387904, 8, 8)", "(100000000000000000000000000, 8, 8)", "(64, 2.5, 8)", "(64, 8, 8, 8)",
              "(3037000500, 3037000500, 1)", "(64, 1, 8, 8)", "(16, 4, 8, 8)", "(64, 'a', 8)", "(64,, 8)"]:
    data_case("npy-shape-%s" % shape, "any" if shape == "(64, 1, 8, 8)" else "refuse",
              npy_dir("npy-shape-%d" % len(cases), train_images=npy(shape, "|u1", pixels)))
for descr in ["<f8", ">f4", "<U1", "|O", "bogus", "<f2", "|b1", "<i4", "'"]:
    data_case("npy-dtype-%s" % descr, "refuse", npy_dir("npy-dtype-%d" % len(cases), train_images=npy("(%d, %d, %d)" % (N, H, W), descr, pixels * 8)))
data_case("npy-fortran", "refuse", npy_dir("npy-fortran", train_images=npy("(%d, %d, %d)" % (N, H, W), "|u1", pixels, fortran="True")))
for version in [0, 2, 3, 4, 255]:
    data_case("npy-version-%d" % version, "any" if version in (2, 3) else "refuse",
              npy_dir("npy-version-%d" % version, train_images=npy("(%d, %d, %d)" % (N, H, W), "|u1", pixels, version=version)))
data_case("npy-magic", "refuse", npy_dir("npy-magic", train_images=npy("(%d, %d, %d)" % (N, H, W), "|u1", pixels, magic=b"\x93NUMPX")))
for header in ["", "garbage", "{'descr': '|u1'}", "{'shape': (64, 8, 8)}", "{'descr': '|u1', 'fortran_order': False, 'shape': }",
               "{" * 5000, "{'descr': '|u1', 'fortran_order': False, 'shape': (64, 8, 8), 'shape': (1, 1, 1)}"]:
    data_case("npy-header-%d" % len(cases), "refuse", npy_dir("npy-header-%d" % len(cases), train_images=npy("", "", pixels, header=header)))
good_images = npy("(%d, %d, %d)" % (N, H, W), "|u1", pixels)
for cut in [0, 5, 9, 11, 40, len(good_images) - 1]:
    data_case("npy-cut-%d" % cut, "refuse", npy_dir("npy-cut-%d" % cut, train_images=good_images[:cut]))
huge_header = b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}"
data_case("npy-header-length-huge", "refuse", npy_dir("npy-header-length-huge", train_images=huge_header))
floats = b"".join(struct.pack("<f", rng.random()) for _ in range(N * H * W))
data_case("npy-float-images", "any", npy_dir("npy-float-images", train_images=npy("(%d, %d, %d)" % (N, H, W), "<f4", floats)))
for special in ["nan", "inf"]:
    bad = bytearray(floats); bad[40:44] = struct.pack("<f", float(special))
    data_case("npy-float-%s-pixel" % special, "any", npy_dir("npy-float-%s" % special, train_images=npy("(%d, %d, %d)" % (N, H, W), "<f4", bytes(bad))))
for value in [-1, K, 1 << 31, 1 << 62, -(1 << 62), 10000, 9999]:
    values = list(labels); values[3] = value
    data_case("npy-label-%d" % value, "any" if value in (K, 9999) else "refuse", npy_dir("npy-label-%d" % len(cases), train_labels=npy("(%d,)" % N, "<i8", label_bytes(values))))
data_case("npy-label-float", "refuse", npy_dir("npy-label-float", train_labels=npy("(%d,)" % N, "<f4", label_bytes(labels, "<f"))))
data_case("npy-label-2d", "refuse", npy_dir("npy-label-2d", train_labels=npy("(%d, 1)" % N, "<i8", label_bytes(labels))))
data_case("npy-label-count", "refuse", npy_dir("npy-label-count", train_labels=npy("(%d,)" % (N - 1), "<i8", label_bytes(labels[:-1]))))
data_case("npy-label-u8-255", "any", npy_dir("npy-label-u8-255", train_labels=npy("(%d,)" % N, "|u1", bytes(labels[:-1]) + b"\xff")))
data_case("npy-test-other-size", "refuse", npy_dir("npy-test-other-size", test_images=npy("(%d, 4, 4)" % TEST, "|u1", test_pixels[:TEST * 16])))
data_case("npy-test-other-channels", "refuse", npy_dir("npy-test-other-channels", test_images=npy("(%d, 3, 8, 8)" % TEST, "|u1", test_pixels * 3)))
data_case("npy-test-empty", "refuse", npy_dir("npy-test-empty", test_images=npy("(0, 8, 8)", "|u1", b""), test_labels_=npy("(0,)", "<i8", b"")))
data_case("npy-train-empty", "refuse", npy_dir("npy-train-empty", train_images=npy("(0, 8, 8)", "|u1", b""), train_labels=npy("(0,)", "<i8", b"")))
data_case("npy-one-class", "refuse", npy_dir("npy-one-class", train_labels=npy("(%d,)" % N, "<i8", label_bytes([0] * N)),
                                            test_labels_=npy("(%d,)" % TEST, "<i8", label_bytes([0] * TEST))))
half = N // 2 * H * W
shard_a = (npy("(%d, %d, %d)" % (N // 2, H, W), "|u1", pixels[:half]), npy("(%d,)" % (N // 2), "<i8", label_bytes(labels[:N // 2])))
shard_b = (npy("(%d, %d, %d)" % (N // 2, H, W), "|u1", pixels[half:]), npy("(%d,)" % (N // 2), "<i8", label_bytes(labels[N // 2:])))
data_case("shards-sound", "any", npy_dir("shards-sound", shards={0: shard_a, 1: shard_b}))
data_case("shards-gap", "refuse", npy_dir("shards-gap", shards={0: shard_a, 2: shard_b}))
data_case("shards-no-zero", "refuse", npy_dir("shards-no-zero", shards={1: shard_a, 2: shard_b}))
data_case("shards-labels-missing", "refuse", npy_dir("shards-labels-missing", shards={0: shard_a, 1: (shard_b[0], None)}))
data_case("shards-other-size", "refuse", npy_dir("shards-other-size", shards={0: shard_a, 1: (npy("(4, 16, 16)", "|u1", pixels[:1024]), npy("(4,)", "<i8", label_bytes([0, 1, 2, 3])))}))
data_case("shards-empty-one", "any", npy_dir("shards-empty-one", shards={0: shard_a, 1: (npy("(0, 8, 8)", "|u1", b""), npy("(0,)", "<i8", b""))}))

# MARK: - CIFAR binary
record = 1 + 3072
for name, size in [("cifar-empty", 0), ("cifar-partial", record + 100), ("cifar-one", record)]:
    d = os.path.join(OUT, "data", name)
    for b in range(1, 6):
        write(os.path.join(d, "data_batch_%d.bin" % b), bytes([b % 10]) + bytes(3072) if size == record else bytes(size))
    write(os.path.join(d, "test_batch.bin"), (bytes([1]) + bytes(3072)) * 2)
    data_case(name, "any" if name == "cifar-one" else "refuse", d)
d = os.path.join(OUT, "data", "cifar-label-200")
for b in range(1, 6):
    write(os.path.join(d, "data_batch_%d.bin" % b), bytes([200]) + bytes(3072))
write(os.path.join(d, "test_batch.bin"), bytes([1]) + bytes(3072))
data_case("cifar-label-200", "refuse", d)

# MARK: - Checkpoints


good = open(CHECKPOINT, "rb").read()
assert xxh64(good[:32] + good[40:]) == struct.unpack_from("<Q", good, 32)[0], "xxh64 or the checkpoint layout differs"


def rehash(b):
    b = bytearray(b)
    struct.pack_into("<Q", b, 32, xxh64(bytes(b[:32]) + bytes(b[40:])))
    return bytes(b)


def body_of(b):
    return subprocess.run(["zstd", "-d", "-c", "-q"], input=b[40:], capture_output=True, check=True).stdout


def with_body(body):
    compressed = subprocess.run(["zstd", "-3", "-c", "-q"], input=body, capture_output=True, check=True).stdout
    header = bytearray(good[:40])
    struct.pack_into("<Q", header, 16, len(body))
    struct.pack_into("<Q", header, 24, len(compressed))
    return rehash(bytes(header) + compressed)


body = body_of(good)
table_length = struct.unpack_from("<Q", body, 0)[0]
table = json.loads(body[8:8 + table_length])
manifest_length = struct.unpack_from("<Q", body, 8 + table_length)[0]
manifest = json.loads(body[16 + table_length:16 + table_length + manifest_length])
blob = body[16 + table_length + manifest_length:]


def rebuild(table_=None, manifest_=None, manifest_bytes=None, table_bytes=None, blob_=None):
    t = table_bytes if table_bytes is not None else json.dumps(table_ if table_ is not None else table).encode()
    m = manifest_bytes if manifest_bytes is not None else json.dumps(manifest_ if manifest_ is not None else manifest).encode()
    return with_body(struct.pack("<Q", len(t)) + t + struct.pack("<Q", len(m)) + m + (blob_ if blob_ is not None else blob))


checkpoints = {"sound-rebuilt": rebuild()}
for cut in [0, 7, 8, 39, 40, 41, len(good) // 2, len(good) - 1]:
    checkpoints["cut-%d" % cut] = good[:cut]
for k in range(40):
    b = bytearray(good); p = rng.randrange(len(b)); b[p] ^= 1 << rng.randrange(8)
    checkpoints["flip-%d" % p] = bytes(b)
for field, value in [(16, (1 << 64) - 1), (16, 1 << 63), (16, 1 << 41), (16, 0), (24, (1 << 64) - 1), (24, 1 << 63), (24, 0), (8, 7)]:
    b = bytearray(good); struct.pack_into("<Q" if field != 8 else "<I", b, field, value)
    checkpoints["field-%d-%d" % (field, value)] = bytes(b)
    checkpoints["field-%d-%d-rehashed" % (field, value)] = rehash(bytes(b))
config_damage = {"epoch": [-1, 1 << 40], "world_size": [-1, 0, 1 << 40], "global_step": [-5], "step_in_epoch": [-1],
                 "optimizer_steps": [-1, 1 << 50]}
for key, values in config_damage.items():
    for v in values:
        m = json.loads(json.dumps(manifest)); m[key] = v
        checkpoints["manifest-%s-%d" % (key, v)] = rebuild(manifest_=m)
for key, v in [("batch-size", 1 << 62), ("batch-size", 0), ("eval-batch-size", 0), ("eval-batch-size", -1), ("classes", 1 << 40),
               ("imbalance-ratio", 0), ("lr", -1), ("epochs", -1), ("epochs", 1 << 40), ("momentum", 5), ("threads", 0),
               ("checkpoint-level", 99), ("model", "bogus"), ("loss", 7), ("seed", -3), ("bucket-mib", 0), ("keep-checkpoints", 0)]:
    m = json.loads(json.dumps(manifest)); m["config"][key] = v
    checkpoints["manifest-config-%s-%s" % (key, v)] = rebuild(manifest_=m)
m = json.loads(json.dumps(manifest)); del m["config"]
checkpoints["manifest-no-config"] = rebuild(manifest_=m)
checkpoints["manifest-not-json"] = rebuild(manifest_bytes=b"{not json")
checkpoints["manifest-empty"] = rebuild(manifest_bytes=b"")
checkpoints["manifest-array"] = rebuild(manifest_bytes=b"[]")
checkpoints["table-not-json"] = rebuild(table_bytes=b"[{")
checkpoints["table-empty"] = rebuild(table_=[])
for field, v in [("bytes", 4), ("bytes", -4), ("bytes", 1 << 62), ("offset", -4), ("offset", 1 << 62), ("dtype", "F16"), ("shape", [1 << 40, 1 << 40]),
                 ("shape", [-1]), ("shape", [7]), ("name", "parameters/other")]:
    t = json.loads(json.dumps(table)); t[0][field] = v
    checkpoints["table-%s-%s" % (field, str(v).replace(" ", ""))] = rebuild(table_=t)
t = json.loads(json.dumps(table)); t.append(t[0])
checkpoints["table-duplicate-entry"] = rebuild(table_=t)
checkpoints["blob-cut"] = rebuild(blob_=blob[:len(blob) // 2])
for name, data in checkpoints.items():
    path = write(os.path.join(OUT, "checkpoints", name, "checkpoints", "step-00000005.ckpt"), data)
    expect = "any" if name == "sound-rebuilt" else "refuse"
    # inspect shows a readable table as it is (an empty one, a renamed tensor); eval, export
    # and --resume refuse what the model cannot use.
    shown = name in ("table-empty", "table-name-parameters/other")
    case("ckpt-inspect-" + name, "any" if shown else expect, ["inspect", path])
    case("ckpt-eval-" + name, expect, ["eval", path, "--data", os.path.join(OUT, "data", "npy-sound")])
    case("ckpt-export-" + name, expect, ["export", path, "--out", "RUN/w.safetensors"])
    case("ckpt-resume-" + name, "any", ["--data", os.path.join(OUT, "data", "npy-sound"), "--batch-size", "16", "--resume", path, "--run-dir", "RUN"] + TRAIN)
# --resume auto skips an unreadable newest checkpoint (or starts fresh): never a crash.
for name in ["field-16-18446744073709551615", "field-24-9223372036854775808-rehashed", "manifest-epoch--1", "cut-41"]:
    case("ckpt-resume-auto-" + name, "any", ["--data", os.path.join(OUT, "data", "npy-sound"), "--batch-size", "16", "--resume", "auto",
                                             "--run-dir", os.path.join(OUT, "checkpoints", name)] + TRAIN)
case("ckpt-missing", "refuse", ["inspect", os.path.join(OUT, "checkpoints", "nope.ckpt")])
case("ckpt-directory", "refuse", ["inspect", os.path.join(OUT, "checkpoints")])

# MARK: - Config files
configs = {
    "toml-brackets": "[[[", "toml-table": "[train]\nlr = 0.1\n", "toml-no-value": "lr = \n", "toml-no-equals": "lr 0.1\n",
    "toml-deep-array": "lr-milestones = " + "[" * 5000 + "]" * 5000 + "\n", "toml-nested-array": "lr-milestones = [[1], [2]]\n",
    "toml-inline-table": "lr = { a = 1 }\n", "toml-duplicate": "lr = 0.1\nlr = 0.2\n", "toml-string-for-number": "lr = \"abc\"\n",
    "toml-bool-for-number": "lr = true\n", "toml-number-for-flag": "augment = 1\n", "toml-unknown-key": "learning-rate = 0.1\n",
    "toml-unterminated": "loss = \"ce\n", "toml-bad-escape": "loss = \"c\\qe\"\n", "toml-bad-unicode": "loss = \"\\uZZZZ\"\n",
    "toml-date": "seed = 1979-05-27T07:32:00Z\n", "toml-nan": "lr = nan\n", "toml-inf": "lr = inf\n", "toml-hex": "seed = 0xff\n",
    "toml-long-value": "loss = \"" + "x" * 50_000 + "\"\n", "toml-long-key": "k" * 100_000 + " = 1\n", "toml-nul": "lr = 0.1\0\n",
    "toml-comment-only": "# nothing\n", "toml-empty": "", "toml-crlf": "epochs = 1\r\nloss = \"ce\"\r\n", "toml-trailing": "lr = 0.1 0.2\n",
    "toml-quoted-key": "\"lr\" = 0.05\n", "toml-negative": "lr = -0.1\n", "toml-huge-int": "seed = 99999999999999999999999\n",
    "json-top-array": "[1, 2]", "json-trailing-comma": "{\"lr\": 0.1,}", "json-duplicate": "{\"lr\": 0.1, \"lr\": 0.2}",
    "json-nested": "{\"lr\": {\"value\": 0.1}}", "json-deep": "{\"lr-milestones\": " + "[" * 10000 + "]" * 10000 + "}",
    "json-1e999": "{\"lr\": 1e999}", "json-nan-token": "{\"lr\": NaN}", "json-string-number": "{\"epochs\": \"many\"}",
    "json-unterminated": "{\"lr\": 0.1", "json-empty": "", "json-garbage": "\x00\x01\x02\x03", "json-null-flag": "{\"augment\": null}",
    "json-array-of-null": "{\"lr-milestones\": [null]}", "json-bool-array": "{\"lr-milestones\": [true]}", "json-sound": "{\"loss\": \"ce\"}",
    "json-long-value": "{\"loss\": \"" + "y" * 60_000_000 + "\"}",
}
for name, text in configs.items():
    path = write(os.path.join(OUT, "configs", name + (".toml" if name.startswith("toml") else ".json")), text.encode("utf-8", "surrogatepass"))
    sound = name in ("toml-comment-only", "toml-crlf", "toml-quoted-key", "json-sound", "json-null-flag", "toml-empty")
    case("config-" + name, "any" if sound else "refuse", ["--config", path, "--data", os.path.join(OUT, "data", "npy-sound"), "--batch-size", "16", "--run-dir", "RUN"] + TRAIN)
write(os.path.join(OUT, "configs", "not-utf8.toml"), b"loss = \"\xff\xfe\"\n")
case("config-not-utf8", "refuse", ["--config", os.path.join(OUT, "configs", "not-utf8.toml"), "--run-dir", "RUN"] + TRAIN)
os.makedirs(os.path.join(OUT, "configs", "a-directory.toml"), exist_ok=True)
case("config-directory", "refuse", ["--config", os.path.join(OUT, "configs", "a-directory.toml"), "--run-dir", "RUN"] + TRAIN)
case("config-missing", "refuse", ["--config", os.path.join(OUT, "configs", "missing.toml"), "--run-dir", "RUN"] + TRAIN)

# MARK: - Option values
numeric = ["epochs", "batch-size", "lr", "momentum", "weight-decay", "warmup-epochs", "imbalance-ratio", "focal-gamma", "focal-scale",
           "ib-alpha", "ib-start-epoch", "crl-eta", "crl-kappa", "crl-margin", "crl-rho", "cb-beta", "drw-epoch", "seed", "max-steps",
           "threads", "classes", "bucket-first-mib", "bucket-mib", "eval-batch-size", "checkpoint-every", "checkpoint-every-steps",
           "keep-checkpoints", "checkpoint-level", "lr-milestones", "sampler-m", "drs-epoch", "label-smoothing",
           "stage2-epochs", "stage2-lr", "posthoc-tau", "tau-norm", "val-split", "data-seed", "cutout", "mixup", "cutmix"]
for option in numeric:
    for value in ["nan", "inf", "-inf", "-1", "0", "1e308", "99999999999999999999", "9223372036854775807", "abc", "", "0x10", "1e-320"]:
        case("option-%s-%s" % (option, value), "any", ["--" + option, value, "--data", os.path.join(OUT, "data", "npy-sound"), "--batch-size" if option != "batch-size" else "--seed", "16", "--run-dir", "RUN"] + TRAIN)
for option, value in [("model", "bogus"), ("loss", ""), ("optimizer", "x" * 100000), ("schedule", "-1"), ("class-weights", "nan"),
                      ("imbalance-profile", "\u00e9"), ("crl-mining", "global;rm"), ("bucket-mode", "auto auto"), ("recipe", "nope"),
                      ("sampler", "uniform,"), ("stage2", "crt lws"), ("shot-thresholds", "20,100"), ("shot-thresholds", "a,b"),
                      ("select-by", "val_bogus"), ("select-by", "test_acc"), ("stem", "resnet"), ("model", "resnet11"),
                      ("normalization", "imagenet"), ("train-list", "/nonexistent/train.txt"),
                      ("test-list", "/nonexistent/test.txt"), ("autoaugment", "cifar100"), ("randaugment", "2"),
                      ("randaugment", "0,9"), ("randaugment", "2,x"), ("randaugment", "2,-1")]:
    case("option-%s-%d" % (option, len(value)), "refuse", ["--" + option, value, "--run-dir", "RUN"] + TRAIN)
case("option-unknown", "refuse", ["--no-such-option", "--run-dir", "RUN"])
# --subset files: text and .npy of every wrong kind (the sound data set has N training samples).
subsets = {"garbage.txt": b"\x00\xff\xfe\x01", "huge.txt": b"99999999999999999999999\n", "float.txt": b"1.5\n",
           "empty.txt": b"", "beyond.txt": b"%d\n" % N, "minus.txt": b"-0\n-1\n", "long-line.txt": b"1 " * 3_000_000,
           "2d.npy": npy("(2, 2)", "<i8", label_bytes([0, 1, 2, 3])), "float.npy": npy("(2,)", "<f4", b"\0" * 8),
           "u8-max.npy": npy("(1,)", "<u8", b"\xff" * 8), "truncated.npy": npy("(9,)", "<i8", b"\0" * 8),
           "duplicate.npy": npy("(2,)", "<i8", label_bytes([3, 3])), "zero.npy": npy("(0,)", "<i8", b""),
           "one-class.npy": npy("(1,)", "<i8", label_bytes([0]))}
for name, data in subsets.items():
    path = write(os.path.join(OUT, "subsets", name), data)
    case("subset-" + name, "refuse", ["--subset", path, "--data", os.path.join(OUT, "data", "npy-sound"), "--batch-size",
                                      "16", "--run-dir", "RUN"] + TRAIN)
os.makedirs(os.path.join(OUT, "subsets", "a-directory.npy"), exist_ok=True)
case("subset-directory", "refuse", ["--subset", os.path.join(OUT, "subsets", "a-directory.npy"), "--data",
                                    os.path.join(OUT, "data", "npy-sound"), "--run-dir", "RUN"] + TRAIN)
case("subset-ldam-odd-step", "any", ["--subset", "ldam", "--imbalance-profile", "step", "--classes", "3", "--data",
                                     os.path.join(OUT, "data", "npy-sound"), "--batch-size", "16", "--run-dir", "RUN"] + TRAIN)
case("run-dir-is-a-file", "refuse", ["--data", os.path.join(OUT, "data", "npy-sound"), "--batch-size", "16", "--run-dir",
                                      os.path.join(OUT, "data", "npy-sound", "test_labels.npy")] + TRAIN)
case("run-dir-under-a-file", "refuse", ["--data", os.path.join(OUT, "data", "npy-sound"), "--batch-size", "16", "--run-dir",
                                         os.path.join(OUT, "data", "npy-sound", "test_labels.npy", "run")] + TRAIN)

# What the message of some cases must say: the file or field and the reason, not a library's code.
says = {
    "idx-directory-for-file": "found a directory", "data-is-a-file": "found a file", "data-missing": "not found",
    "npy-label-4611686018427387904": "label of sample 3", "npy-label--1": "label", "npy-label-10000": "classes",
    "run-dir-under-a-file": "is a file", "run-dir-is-a-file": "not a directory", "shards-gap": "gap",
    "config-toml-brackets": "line 1", "config-toml-duplicate": "given twice", "config-json-duplicate": "given twice",
    "config-json-long-value": "at most", "config-directory": "is a directory", "idx-test-empty": "test images",
    "idx-test-other-size": "expected the same shape", "idx-one-pixel-cnn": "needs at least 4 x 4",
    "ckpt-inspect-field-16-9223372036854775808-rehashed": "implausible", "ckpt-inspect-field-24-18446744073709551615": "truncated or padded",
    "ckpt-inspect-manifest-epoch--1": "epoch -1", "ckpt-inspect-manifest-world_size-1099511627776": "world size",
    "ckpt-inspect-manifest-config-batch-size-4611686018427387904": "--batch-size", "ckpt-inspect-table-bytes-4": "does not match",
    "ckpt-inspect-table-duplicate-entry": "listed twice", "ckpt-directory": "not a regular file",
    "option-lr-nan": "--lr must be", "option-seed--1": "--seed must not be negative",
}
names = {name for name, _, _ in cases}
assert not set(says) - names, sorted(set(says) - names)
with open(os.path.join(OUT, "cases.tsv"), "w") as f:
    for name, expect, args in cases:
        assert "\t" not in name and all("\t" not in a and "\n" not in a for a in args), name
        f.write("\t".join([name.replace(" ", "_"), expect, says.get(name, "-")] + args) + "\n")
print("%d cases" % len(cases))

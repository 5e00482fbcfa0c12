#!/usr/bin/env python3
"""A synthetic image folder for `bench` and compare.sh at sizes Fashion-MNIST does not have:
DIR/train/CLASS/*.png and DIR/test/CLASS/*.png, RGB, SIZE x SIZE, smooth random patterns
(standard library only: PNG written with zlib).

  python3 benchmarks/make_image_folder.py /tmp/images-224 --size 224 --per-class 64
"""
import argparse, os, random, struct, zlib


def png(path, width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path + ".part", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
                + chunk(b"IEND", b""))
    os.replace(path + ".part", path)


def image(rng, size, label):
    """Stripes whose slope and colour depend on the class, plus noise."""
    a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
    base = [(label * 37 + 60 * c) % 256 for c in range(3)]
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            v = int(64 * ((a * x + b * y) / size % 1.0))
            row.extend((base[c] + v + rng.randrange(16)) % 256 for c in range(3))
        rows.append(row)
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("directory")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--per-class", type=int, default=64)
    p.add_argument("--test-per-class", type=int, default=2)
    args = p.parse_args()
    rng = random.Random(0)
    for split, count in (("train", args.per_class), ("test", args.test_per_class)):
        for k in range(args.classes):
            folder = os.path.join(args.directory, split, "class%02d" % k)
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                path = os.path.join(folder, "%04d.png" % i)
                if not os.path.exists(path):
                    png(path, args.size, args.size, image(rng, args.size, k))


if __name__ == "__main__":
    main()

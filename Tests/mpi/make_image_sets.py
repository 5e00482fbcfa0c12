"""Writes Fashion-MNIST (the IDX files of DIR) as an image folder and as WebDataset tar shards.

    python make_image_sets.py IDX_DIR OUT [SHARDS] [--limit N]

OUT/folder/train/CLASS/NNNNN.png, OUT/folder/test/CLASS/NNNNN.png and OUT/folder/classes.txt
(the class folders in label order); OUT/tars/train-{00000..SHARDS-1}.tar and
OUT/tars/test-00000.tar holding NNNNN.png + NNNNN.cls, and OUT/tars/classes.txt. Files are
numbered by their index in the IDX files, so that the image set trains in the IDX order.
Needs Pillow (a test dependency only).
"""
import gzip
import io
import os
import sys
import tarfile

from PIL import Image

NAMES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]


def idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            data = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return shape, data[4 + 4 * dims:]
    raise SystemExit(f"{path}: not found")


def png(pixels, h, w):
    out = io.BytesIO()
    Image.frombytes("L", (w, h), bytes(pixels)).save(out, format="PNG")
    return out.getvalue()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--limit")]
    limit = None
    for a in sys.argv[1:]:
        if a.startswith("--limit="):
            limit = int(a.split("=")[1])
    src, out = args[0], args[1]
    shards = int(args[2]) if len(args) > 2 else 6
    for split, prefix in (("train", "train"), ("test", "t10k")):
        (n, h, w), images = idx(os.path.join(src, f"{prefix}-images-idx3-ubyte"))
        _, labels = idx(os.path.join(src, f"{prefix}-labels-idx1-ubyte"))
        n = min(n, limit) if limit else n
        for name in NAMES:
            os.makedirs(os.path.join(out, "folder", split, name), exist_ok=True)
        os.makedirs(os.path.join(out, "tars"), exist_ok=True)
        parts = shards if split == "train" else 1
        tars = [tarfile.open(os.path.join(out, "tars", f"{split}-{s:05d}.tar"), "w", format=tarfile.USTAR_FORMAT) for s in range(parts)]
        per = (n + parts - 1) // parts
        for i in range(n):
            data = png(images[i * h * w:(i + 1) * h * w], h, w)
            y = labels[i]
            with open(os.path.join(out, "folder", split, NAMES[y], f"{i:05d}.png"), "wb") as f:
                f.write(data)
            tar = tars[i // per]
            for ext, payload in (("png", data), ("cls", str(y).encode())):
                info = tarfile.TarInfo(f"{i:05d}.{ext}")
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
        for t in tars:
            t.close()
    for d in ("folder", "tars"):
        with open(os.path.join(out, d, "classes.txt"), "w") as f:
            f.write("\n".join(NAMES) + "\n")


if __name__ == "__main__":
    main()

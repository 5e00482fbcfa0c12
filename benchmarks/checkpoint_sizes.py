#!/usr/bin/env python3
"""Size of a ddp-train checkpoint against raw float32 and against zstd without the byte shuffle.
usage: checkpoint_sizes.py CKPT [LEVEL]   (needs the zstd command-line tool)"""
import json, os, struct, subprocess, sys

path = sys.argv[1]
level = sys.argv[2] if len(sys.argv) > 2 else "3"
data = open(path, "rb").read()
assert data[:8] == b"DDPTCKPT", "not a ddp-train checkpoint"
body = subprocess.run(["zstd", "-d", "-c"], input=data[40:], capture_output=True, check=True).stdout
(t,) = struct.unpack("<Q", body[:8])
table = json.loads(body[8:8 + t])
(m,) = struct.unpack("<Q", body[8 + t:16 + t])
blob = body[16 + t + m:]
raw = bytearray()
for e in table:
    chunk = blob[e["offset"]:e["offset"] + e["bytes"]]
    n = e["bytes"] // 4
    if e["shuffled"]:
        planes = [chunk[i * n:(i + 1) * n] for i in range(4)]
        unshuffled = bytearray(4 * n)
        for p in range(4):
            unshuffled[p::4] = planes[p]
        chunk = bytes(unshuffled)
    raw += chunk
plain = len(subprocess.run(["zstd", "-" + level, "-c"], input=bytes(raw), capture_output=True, check=True).stdout)
print(json.dumps({"checkpoint": os.path.basename(path), "raw_float32_bytes": len(raw), "zstd_without_shuffle_bytes": plain,
                  "file_bytes": len(data), "ratio_vs_raw": round(len(data) / len(raw), 3),
                  "ratio_vs_plain_zstd": round(len(data) / plain, 3)}))

#!/usr/bin/env python3
"""Relative difference of two safetensors files, tensor by tensor: ||a - b|| / ||a||.
Prints the largest; exits 1 if it exceeds the tolerance (argv[3], default 1e-4)."""
import json, struct, sys, math

def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[8 + n + start:8 + n + end]
        fmt = "<%dq" % (len(raw) // 8) if info["dtype"] == "I64" else "<%df" % (len(raw) // 4)
        out[name] = struct.unpack(fmt, raw)
    return out

a, b = read(sys.argv[1]), read(sys.argv[2])
tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
assert a.keys() == b.keys(), (sorted(a.keys() ^ b.keys()))
worst, where = 0.0, ""
for name in a:
    x, y = a[name], b[name]
    norm = math.sqrt(sum(v * v for v in x)) or 1.0
    diff = math.sqrt(sum((u - v) ** 2 for u, v in zip(x, y)))
    if diff / norm > worst:
        worst, where = diff / norm, name
print("%.3e %s" % (worst, where))
sys.exit(0 if worst <= tolerance else 1)

#!/usr/bin/env python3
"""Difference of two safetensors files, printed as the largest value and where; exits 1
if it exceeds the tolerance.

    safetensors_diff.py A B [TOLERANCE] [--init INIT]

Without --init: tensor by tensor, ||a - b|| / ||a|| (relative to the parameters).

With --init (the weights both runs started from): layer by layer, ||a - b|| / ||a - init||,
the difference relative to the layer's whole update. This is the scale that float rounding
works on: the error of a gradient sum is about eps * sqrt(n) * (size of its terms), which
is the same for a layer's weight and its bias, while a bias gradient can be a nearly
cancelling sum (batch norm's beta after a layer that removes the mean) and so tiny itself.
A layer is the name up to its last dot; its trainable tensors (weight, bias) and its
buffers (running_*) are compared as two groups."""
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


def main():
    args = sys.argv[1:]
    init = None
    if "--init" in args:
        i = args.index("--init")
        init = read(args[i + 1])
        del args[i:i + 2]
    a, b = read(args[0]), read(args[1])
    tolerance = float(args[2]) if len(args) > 2 else 1e-4
    assert a.keys() == b.keys(), (sorted(a.keys() ^ b.keys()))

    def group(name):
        if init is None:
            return name
        layer, _, last = name.rpartition(".")
        return layer + (" (buffers)" if last.startswith("running_") or last.startswith("num_batches") else "")

    diff2, scale2 = {}, {}
    for name in a:
        g = group(name)
        reference = init[name] if init is not None else [0.0] * len(a[name])
        diff2[g] = diff2.get(g, 0.0) + sum((u - v) ** 2 for u, v in zip(a[name], b[name]))
        scale2[g] = scale2.get(g, 0.0) + sum((u - r) ** 2 for u, r in zip(a[name], reference))
    worst, where = 0.0, ""
    for g in diff2:
        value = math.sqrt(diff2[g]) / (math.sqrt(scale2[g]) or 1.0)
        if value > worst:
            worst, where = value, g
    print("%.3e %s" % (worst, where))
    sys.exit(0 if worst <= tolerance else 1)


if __name__ == "__main__":
    main()

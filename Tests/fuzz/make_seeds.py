#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (Sources/fuzz-inputs): one small valid input of each kind,
a checkpoint with a real manifest (taken from CHECKPOINT) but a tiny tensor table.

usage: make_seeds.py OUT_DIR CHECKPOINT"""
import json, os, struct, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
from xxh64 import xxh64  # noqa: E402

out, checkpoint = sys.argv[1], sys.argv[2]


def seed(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


seed("idx-images", "small", struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(range(32)))
seed("idx-labels", "small", struct.pack(">II", 0x801, 3) + bytes([0, 1, 2]))


def npy(descr, shape, body):
    header = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)).encode()
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


seed("npy", "images", npy("|u1", "(2, 4, 4)", bytes(range(32))))
seed("npy", "labels", npy("<i8", "(3,)", struct.pack("<3q", 0, 1, 2)))
seed("npy", "floats", npy("<f4", "(1, 1, 2, 2)", struct.pack("<4f", 0, 0.5, 1, 2)))
seed("cifar", "two-records", (bytes([1, 7]) + bytes(3072)) * 2)

good = open(checkpoint, "rb").read()
body = subprocess.run(["zstd", "-d", "-c", "-q"], input=good[40:], capture_output=True, check=True).stdout
table_length = struct.unpack_from("<Q", body, 0)[0]
manifest_length = struct.unpack_from("<Q", body, 8 + table_length)[0]
manifest = body[16 + table_length:16 + table_length + manifest_length]
table = json.dumps([{"name": "parameters/x", "dtype": "F32", "shape": [3], "offset": 0, "bytes": 12, "shuffled": False}]).encode()
small = struct.pack("<Q", len(table)) + table + struct.pack("<Q", len(manifest)) + manifest + struct.pack("<3f", 1, 2, 3)
compressed = subprocess.run(["zstd", "-1", "-c", "-q"], input=small, capture_output=True, check=True).stdout
header = bytearray(good[:40])
struct.pack_into("<QQ", header, 16, len(small), len(compressed))
struct.pack_into("<Q", header, 32, xxh64(bytes(header[:32]) + compressed))
seed("checkpoint", "small", bytes(header) + compressed)

st_header = json.dumps({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
st_header += b" " * ((8 - len(st_header) % 8) % 8)
seed("safetensors", "small", struct.pack("<Q", len(st_header)) + st_header + struct.pack("<2f", 1, 2))

seed("config-toml", "options", b'loss = "ce"\nlr = 0.05 # comment\nlr-milestones = [10, 20,]\naugment = true\n"seed" = -1\n')
seed("config-json", "options", b'{"loss": "ce", "lr": 0.05, "lr-milestones": [10, 20], "augment": false, "classes": null, "data": "a\\u00e9\\n"}')

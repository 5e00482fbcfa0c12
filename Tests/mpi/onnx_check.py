"""Runs an exported ONNX model with onnxruntime on the IDX test images and compares its logits
with `ddp-train eval --logits`'s. Exits 1 when a row differs by more than TOL relative to the
row's largest logit. Test dependency only (onnx, onnxruntime, numpy).

    python onnx_check.py MODEL.onnx LOGITS.npy IDX_DIR [TOL]
"""
import gzip
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            data = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)
    raise SystemExit(f"{path}: not found")


def main():
    model_path, logits_path, data = sys.argv[1:4]
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    model = onnx.load(model_path)
    onnx.checker.check_model(model)
    meta = {p.key: p.value for p in model.metadata_props}
    mean = np.array(json.loads(meta["mean"]), dtype=np.float32)
    std = np.array(json.loads(meta["std"]), dtype=np.float32)
    c, h, w = json.loads(meta["input_shape"])
    names = json.loads(meta["class_names"])
    assert len(names) == int(meta["classes"]), "class names and classes disagree"
    images = idx(os.path.join(data, "t10k-images-idx3-ubyte")).reshape(-1, c, h, w).astype(np.float32)
    x = ((images / np.float32(255)) - mean[None, :, None, None]) / std[None, :, None, None]
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    got = np.concatenate([session.run(["logits"], {"input": x[i:i + 500]})[0] for i in range(0, len(x), 500)])
    want = np.load(logits_path)
    assert got.shape == want.shape, f"shapes {got.shape} and {want.shape}"
    scale = np.maximum(np.abs(want).max(axis=1), 1e-30)
    rel = (np.abs(got - want).max(axis=1) / scale).max()
    agree = (got.argmax(1) == want.argmax(1)).mean()
    print(f"{meta['model']} ({meta['head']}): {len(x)} images, largest difference {rel:.2e} of the row's largest logit, "
          f"predictions agree on {100 * agree:.2f}%")
    sys.exit(0 if rel <= tol else 1)


if __name__ == "__main__":
    main()

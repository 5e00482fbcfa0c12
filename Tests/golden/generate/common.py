"""Shared by the golden generators: float64, rounding, writing, and --recompute.

Every generator either writes a new golden file from a seed (random inputs, expected values
from PyTorch and the reference libraries), or, with --recompute FILE, recomputes the expected
values of FILE's own inputs and compares them with FILE's: the proof that the generator
computes what the committed file says.
"""
import argparse
import json
import math
import os
import sys

import torch

torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.dirname(HERE)


def rounded(x, digits=10):
    """A float with `digits` significant digits, as the golden files store inputs and gradients."""
    x = float(x)
    return x if x == 0 or not math.isfinite(x) else float(f"{x:.{digits}g}")


def tolist(t, digits=10):
    """A tensor as nested lists of rounded floats."""
    if isinstance(t, torch.Tensor):
        t = t.detach().tolist()
    if isinstance(t, list):
        return [tolist(v, digits) for v in t]
    return rounded(t, digits)


def arguments(description, default_out, extra=None):
    p = argparse.ArgumentParser(description=description)
    if extra:
        extra(p)
    p.add_argument("--seed", type=int, default=None, help="seed of the random inputs (default: the committed file's)")
    p.add_argument("--out", default=os.path.join(GOLDEN, default_out), help="file to write (default: %(default)s)")
    p.add_argument("--recompute", metavar="FILE", help="recompute FILE's expected values from its inputs and compare; writes nothing")
    return p.parse_args()


def write(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)
    print(f"wrote {path}")


def close(got, want, path, problems, tolerance=1e-8):
    """Compares nested lists of numbers: |got - want| <= tolerance * max(1, |want|) (the files keep
    10 significant digits). Appends what differs to `problems`."""
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            problems.append(f"{path}: shape differs")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            close(g, w, f"{path}[{i}]", problems, tolerance)
        return
    if want is None or got is None:
        if want is not got:
            problems.append(f"{path}: {got} vs {want}")
        return
    if not abs(float(got) - float(want)) <= tolerance * max(1.0, abs(float(want))):
        problems.append(f"{path}: {got} vs {want}")


def report(problems, cases, path):
    for p in problems[:20]:
        print("differs:", p)
    print(f"{path}: {cases} cases recomputed, {len(problems)} values differ")
    sys.exit(1 if problems else 0)

#!/usr/bin/env python3
"""Golden cases of AutoAugment's and RandAugment's operations, computed with torchvision's own
(`torchvision.transforms.autoaugment._apply_op` on uint8 tensors, nearest interpolation, fill 0):
each op at a few magnitudes on a 3 x 20 x 24 and a 1 x 20 x 24 image, the whole output as hex.
Also the magnitude tables of `_augmentation_space` for 10 bins (AutoAugment) and 31 (RandAugment).

Images come from the formula of augment_views.py (case c): floor(256 frac(sin(12.9898 i + 78.233 c) 43758.5453)).

    python3 Tests/golden/generate/augment_ops.py > Tests/golden/augment_ops.json
"""
import json

import torch
import torchvision
from torchvision.transforms import InterpolationMode, RandAugment
from torchvision.transforms.autoaugment import _apply_op


def image(c, channels, h, w):
    i = torch.arange(channels * h * w, dtype=torch.float64)
    v = torch.frac(torch.sin(12.9898 * i + 78.233 * c) * 43758.5453)
    v = torch.where(v < 0, v + 1, v)
    return torch.floor(256 * v).clamp(0, 255).to(torch.uint8).reshape(channels, h, w)


def smooth(c, channels, h, w):
    """A smoother image (a gradient plus the formula's noise / 4): histograms with gaps and ties."""
    y = torch.arange(h).reshape(1, h, 1).float()
    x = torch.arange(w).reshape(1, 1, w).float()
    base = (40 + 6 * y + 3 * x + 20 * torch.arange(channels).reshape(channels, 1, 1)).clamp(0, 255)
    return (base + image(c, channels, h, w).float() / 4).clamp(0, 255).to(torch.uint8)


tables = {}
for bins in (10, 31):
    space = RandAugment(num_magnitude_bins=bins)._augmentation_space(bins, (20, 24))
    tables[str(bins)] = {name: ([float(v) for v in m.flatten().tolist()] if m.ndim > 0 else [])
                         for name, (m, signed) in space.items()}

ops = [("Identity", [0.0]), ("ShearX", [0.3, -0.1333]), ("ShearY", [0.2, -0.3]), ("TranslateX", [7.0, -3.0]),
       ("TranslateY", [5.0, -9.0]), ("Rotate", [30.0, -13.3333]), ("Brightness", [0.9, -0.5]),
       ("Color", [0.6, -0.9]), ("Contrast", [0.9, -0.4]), ("Sharpness", [0.9, -0.7]), ("Posterize", [4.0, 7.0]),
       ("Solarize", [170.0, 113.33333587646484]), ("AutoContrast", [0.0]), ("Equalize", [0.0]), ("Invert", [0.0])]
cases = []
case = 100
for channels in (3, 1):
    for kind, make in (("noise", image), ("smooth", smooth)):
        case += 1
        img = make(case, channels, 20, 24)
        for name, magnitudes in ops:
            for m in magnitudes:
                out = _apply_op(img, name, m, interpolation=InterpolationMode.NEAREST, fill=None)
                cases.append({"op": name, "magnitude": m, "image": kind, "case": case, "shape": [channels, 20, 24],
                              "output": bytes(out.contiguous().flatten().tolist()).hex()})
print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "magnitudes": tables,
                  "cases": cases}))

#!/usr/bin/env python3
"""Golden cases of the augmentation's geometry, computed with torchvision (Tests/golden/augment_views.json):

- resized_crop: torchvision.transforms.v2.functional.resized_crop of a float image (bilinear,
  antialias off: the crop is never larger than the output), the box given; the pixels of the
  output at the listed positions and the sum of each channel.
- centre_crop: Resize(round(8/7 S)) then CenterCrop(S) of a uint8 image (torchvision's evaluation
  view for 224 px, 256 / 224): the same figures.

Images come from a formula ddp-train's test computes too: pixel i of an image is
floor(256 * frac(sin(12.9898 i + 78.233 c) * 43758.5453)) for case c.

    python3 Tests/golden/generate/augment_views.py > Tests/golden/augment_views.json
"""
import json
import math

import torch
import torchvision
from torchvision.transforms.v2 import functional as F


def image(c, channels, h, w):
    n = channels * h * w
    i = torch.arange(n, dtype=torch.float64)
    v = torch.frac(torch.sin(12.9898 * i + 78.233 * c) * 43758.5453)
    v = torch.where(v < 0, v + 1, v)
    return torch.floor(256 * v).clamp(0, 255).to(torch.uint8).reshape(channels, h, w)


def figures(out):
    flat = out.reshape(out.shape[0], -1)
    n = flat.shape[1]
    picks = [0, 1, n // 3, n // 2, n - 2, n - 1]
    return {"sums": flat.double().sum(1).tolist(),
            "samples": [[int(p), flat[ch, p].item()] for ch in range(flat.shape[0]) for p in picks]}


cases = []
c = 0
for channels, h, w, top, left, ch, cw in [(3, 64, 64, 5, 9, 30, 41), (1, 64, 64, 0, 0, 64, 64),
                                          (3, 96, 80, 20, 3, 17, 70), (3, 64, 72, 50, 60, 14, 12)]:
    c += 1
    img = image(c, channels, h, w)
    out = F.resized_crop(img.float(), top, left, ch, cw, [h, w], interpolation=F.InterpolationMode.BILINEAR,
                         antialias=False)
    cases.append({"kind": "resized_crop", "case": c, "shape": [channels, h, w], "box": [top, left, ch, cw],
                  **figures(out)})
for channels, h, w in [(3, 64, 64), (1, 224, 224), (3, 70, 100)]:
    c += 1
    img = image(c, channels, h, w)
    big = F.resize(img, [round(h * 8 / 7), round(w * 8 / 7)], interpolation=F.InterpolationMode.BILINEAR,
                   antialias=True)
    out = F.center_crop(big, [h, w])
    cases.append({"kind": "centre_crop", "case": c, "shape": [channels, h, w], **figures(out)})
print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "cases": cases}, indent=1))

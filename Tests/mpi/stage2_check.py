#!/usr/bin/env python3
"""What a second stage (--stage2) may change of the first stage's model.

    stage2_check.py crt|lws STAGE1 FINAL CLASSIFIER

Every tensor but the classifier's (CLASSIFIER.weight, CLASSIFIER.bias) is the same bit for bit,
batch-norm statistics included. cRT: the classifier changed. LWS: each row of the classifier
(its weight row and its bias) is the first stage's times one positive scale, and the scales
are not all 1."""
import sys
from safetensors_diff import read

method, stage1, final, classifier = sys.argv[1], read(sys.argv[2]), read(sys.argv[3]), sys.argv[4]
assert stage1.keys() == final.keys(), sorted(stage1.keys() ^ final.keys())
head = {classifier + ".weight", classifier + ".bias"}
for name in stage1:
    if name not in head:
        assert stage1[name] == final[name], f"{name} changed in the second stage"
w1, w2 = stage1[classifier + ".weight"], final[classifier + ".weight"]
b1, b2 = stage1[classifier + ".bias"], final[classifier + ".bias"]
assert w1 != w2, "the classifier did not change"
if method == "lws":
    rows, width = len(b1), len(w1) // len(b1)
    scales = []
    for r in range(rows):
        s = b2[r] / b1[r] if abs(b1[r]) > 1e-6 else w2[r * width] / w1[r * width]
        assert s > 0, f"row {r}: scale {s}"
        for c in range(width):
            a, b = w1[r * width + c] * s, w2[r * width + c]
            assert abs(a - b) <= 1e-5 * (abs(a) + abs(b)) + 1e-7, f"row {r} is not the first stage's times {s}"
        scales.append(s)
    assert max(abs(s - 1) for s in scales) > 1e-3, f"the scales did not move: {scales}"
    print("scales " + " ".join("%.3f" % s for s in scales))
else:
    print("classifier re-trained")

"""Writes Tests/golden/decoupling.json: label smoothing of the cross-entropy losses (PyTorch's
F.cross_entropy(weight=w, label_smoothing=e) on the logits, plain or adjusted as
longtail_losses.py adjusts them), PyTorch float64:
python3 decoupling.py [--seed S] [--recompute FILE]."""
import json
import random

import torch
import torch.nn.functional as F

import common
import longtail_losses as lt
import softmax_losses as sl


def loss(name, params, z, y, w, counts):
    e = params.get("label_smoothing", 0.0)
    k = z.shape[1]
    if name == "ce":
        return F.cross_entropy(z, y, weight=w, label_smoothing=e)
    if name == "ldam":
        m = torch.tensor(counts, dtype=torch.float64) ** -0.25
        m = m * (params.get("max_margin", 0.5) / m.max())
        return F.cross_entropy(params.get("scale", 30.0) * (z - F.one_hot(y, k) * m[None, :]), y, weight=w, label_smoothing=e)
    if name == "balanced_softmax":
        return F.cross_entropy(z + lt.log_prior(counts), y, label_smoothing=e)
    if name == "logit_adjusted":
        return F.cross_entropy(z + params.get("tau", 1.0) * lt.log_prior(counts), y, weight=w, label_smoothing=e)
    if name == "vs":
        n = torch.tensor(counts, dtype=torch.float64)
        delta = (n.max() / n) ** params.get("gamma", 0.3)
        return F.cross_entropy(z / delta + params.get("tau", 1.0) * lt.log_prior(counts), y, weight=w, label_smoothing=e)
    raise ValueError(name)


def expected(case):
    z = torch.tensor(case["logits"], requires_grad=True)
    y = torch.tensor(case["target"])
    w = sl.class_weights(case["class_weights"], case["global_counts"]) if case["class_weights"] else None
    value = loss(case["loss"], case["params"], z, y, w, case["global_counts"])
    (dz,) = torch.autograd.grad(value, [z])
    return {"loss": value.item(), "dlogits": dz, "dh": torch.zeros(case["n"], case["d"])}


LOSSES = [("ce", {}), ("ldam", {"max_margin": 0.5, "scale": 30.0}), ("balanced_softmax", {}), ("logit_adjusted", {"tau": 1.0}),
          ("vs", {"gamma": 0.3, "tau": 1.0})]
SIZES = [(8, 3, 1), (64, 10, 1), (37, 7, 1)]


def make_case(rng, name, params, weights, n, k, d):
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    counts = sorted((rng.randrange(20, 5000) for _ in range(k)), reverse=True)
    z = torch.rand(n, k, generator=g) * 2 - 1 if name == "ldam" else torch.randn(n, k, generator=g) * 1.5
    case = {"loss": name, "params": params, "class_weights": weights, "global_counts": counts,
            "weight": common.tolist(sl.class_weights(weights, counts)) if weights else None, "n": n, "k": k, "d": d,
            "logits": common.tolist(z), "target": [rng.randrange(k) for _ in range(n)], "h": [[0.0] * d for _ in range(n)]}
    e = expected(case)
    case["expected"] = {"loss": e["loss"], "dlogits": common.tolist(e["dlogits"]), "dh": common.tolist(e["dh"])}
    return case


def main():
    a = common.arguments(__doc__, "decoupling.json")
    if a.recompute:
        file = json.load(open(a.recompute))
        problems = []
        for i, c in enumerate(file["losses"]):
            e = expected(c)
            common.close(e["loss"], c["expected"]["loss"], f"losses[{i}] {c['loss']}.loss", problems)
            common.close(common.tolist(e["dlogits"]), c["expected"]["dlogits"], f"losses[{i}] {c['loss']}.dlogits", problems)
        common.report(problems, len(file["losses"]), a.recompute)
    seed = 43 if a.seed is None else a.seed
    rng = random.Random(seed)
    cases = [make_case(rng, name, dict(params, label_smoothing=e), weights, n, k, d)
             for (n, k, d) in SIZES for (name, params) in LOSSES for e in (0.1, 0.3)
             for weights in ((None,) if name == "balanced_softmax" else (None, "ib"))]
    common.write({"generator": f"PyTorch {torch.__version__} float64", "seed": seed, "losses": cases}, a.out)


if __name__ == "__main__":
    main()

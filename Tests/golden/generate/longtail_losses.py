"""Writes Tests/golden/longtail_losses.json: LDAM, balanced softmax, logit adjustment, VS loss
and post-hoc logit adjustment (docs/losses.md), PyTorch float64:
python3 longtail_losses.py [--seed S] [--recompute FILE]."""
import random

import torch
import torch.nn.functional as F

import common
import softmax_losses as sl


def log_prior(counts):
    n = torch.tensor(counts, dtype=torch.float64)
    return torch.log(n / n.sum())


def loss(name, params, z, y, w, counts):
    k = z.shape[1]
    if name == "ldam":
        m = torch.tensor(counts, dtype=torch.float64) ** -0.25
        m = m * (params.get("max_margin", 0.5) / m.max())
        adjusted = z - F.one_hot(y, k) * m[None, :]
        return F.cross_entropy(params.get("scale", 30.0) * adjusted, y, weight=w)
    if name == "balanced_softmax":
        return F.cross_entropy(z + log_prior(counts), y)
    if name == "logit_adjusted":
        return F.cross_entropy(z + params.get("tau", 1.0) * log_prior(counts), y, weight=w)
    if name == "vs":
        n = torch.tensor(counts, dtype=torch.float64)
        delta = (n.max() / n) ** params.get("gamma", 0.3)
        return F.cross_entropy(z / delta + params.get("tau", 1.0) * log_prior(counts), y, weight=w)
    raise ValueError(name)


def expected(case, loss=loss):
    """The case's loss and gradients by `loss(name, params, z, y, weight, counts)`."""
    z = torch.tensor(case["logits"], requires_grad=True)
    y = torch.tensor(case["target"])
    w = sl.class_weights(case["class_weights"], case["global_counts"]) if case["class_weights"] else None
    value = loss(case["loss"], case["params"], z, y, w, case["global_counts"])
    (dz,) = torch.autograd.grad(value, [z])
    return {"loss": value.item(), "dlogits": dz, "dh": torch.zeros(case["n"], case["d"])}


def posthoc(case):
    """z - tau * log(prior): what a plain model predicts the argmax of."""
    return torch.tensor(case["logits"]) - case["tau"] * log_prior(case["global_counts"])


LOSSES = [("ldam", {"max_margin": 0.5, "scale": 30.0}), ("ldam", {"max_margin": 0.3, "scale": 16.0}), ("balanced_softmax", {}),
          ("logit_adjusted", {"tau": 1.0}), ("logit_adjusted", {"tau": 0.5}), ("vs", {"gamma": 0.3, "tau": 1.0}),
          ("vs", {"gamma": 0.2, "tau": 0.5})]
SIZES = [(8, 3, 1), (96, 10, 1), (37, 7, 1), (64, 10, 1)]


def make_case(rng, name, params, weights, n, k, d):
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    counts = sorted((rng.randrange(20, 5000) for _ in range(k)), reverse=True)
    # LDAM takes cosines: logits in [-1, 1].
    z = torch.rand(n, k, generator=g) * 2 - 1 if name == "ldam" else torch.randn(n, k, generator=g) * 1.5
    case = {"loss": name, "params": params, "class_weights": weights, "global_counts": counts,
            "weight": common.tolist(sl.class_weights(weights, counts)) if weights else None, "n": n, "k": k, "d": d,
            "logits": common.tolist(z), "target": [rng.randrange(k) for _ in range(n)], "h": [[0.0] * d for _ in range(n)]}
    e = expected(case)
    case["expected"] = {"loss": e["loss"], "dlogits": common.tolist(e["dlogits"]), "dh": common.tolist(e["dh"])}
    return case


def main():
    a = common.arguments(__doc__, "longtail_losses.json")
    if a.recompute:
        import json
        file = json.load(open(a.recompute))
        problems = []
        for i, c in enumerate(file["losses"]):
            e = expected(c)
            common.close(e["loss"], c["expected"]["loss"], f"losses[{i}] {c['loss']}.loss", problems)
            common.close(common.tolist(e["dlogits"]), c["expected"]["dlogits"], f"losses[{i}] {c['loss']}.dlogits", problems)
        for i, c in enumerate(file["posthoc_logit_adjustment"]):
            common.close(common.tolist(posthoc(c)), c["expected"], f"posthoc_logit_adjustment[{i}]", problems)
        common.report(problems, len(file["losses"]) + len(file["posthoc_logit_adjustment"]), a.recompute)
    seed = 5 if a.seed is None else a.seed
    rng = random.Random(seed)
    cases = [make_case(rng, name, params, weights, n, k, d) for (n, k, d) in SIZES for (name, params) in LOSSES
             for weights in ((None,) if name == "balanced_softmax" else (None, "ib"))]
    posthocs = []
    for tau in (1.0, 0.5):
        g = torch.Generator().manual_seed(rng.randrange(1 << 30))
        c = {"tau": tau, "global_counts": sorted((rng.randrange(20, 5000) for _ in range(10)), reverse=True),
             "logits": common.tolist(torch.randn(4, 10, generator=g))}
        c["expected"] = common.tolist(posthoc(c))
        posthocs.append(c)
    common.write({"generator": f"PyTorch {torch.__version__} float64", "seed": seed, "losses": cases,
                  "posthoc_logit_adjustment": posthocs}, a.out)


if __name__ == "__main__":
    main()

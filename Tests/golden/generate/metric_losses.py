"""Writes Tests/golden/metric_losses.json: the margin heads and embedding losses with
pytorch-metric-learning 2.9.0 (quadruplet and center loss as docs/losses.md pins them), float64:
python3 metric_losses.py [--seed S] [--recompute FILE]."""
import math
import random

import torch
import torch.nn.functional as F

import common

HEADS = {"arcface", "cosface", "sphereface", "subcenter_arcface"}


def pml_loss(name, params, k, d):
    from pytorch_metric_learning import losses
    if name == "arcface":
        return losses.ArcFaceLoss(num_classes=k, embedding_size=d, margin=params.get("margin_degrees", 28.6), scale=params.get("scale", 64))
    if name == "cosface":
        return losses.CosFaceLoss(num_classes=k, embedding_size=d, margin=params.get("margin", 0.35), scale=params.get("scale", 64))
    if name == "sphereface":
        return losses.SphereFaceLoss(num_classes=k, embedding_size=d, margin=params.get("margin", 4), scale=params.get("scale", 1))
    if name == "subcenter_arcface":
        return losses.SubCenterArcFaceLoss(num_classes=k, embedding_size=d, margin=params.get("margin_degrees", 28.6), scale=params.get("scale", 64),
                                           sub_centers=int(params.get("sub_centers", 3)))
    if name == "contrastive":
        return losses.ContrastiveLoss(pos_margin=params.get("pos_margin", 0.0), neg_margin=params.get("neg_margin", 1.0))
    if name == "triplet":
        return losses.TripletMarginLoss(margin=params.get("margin", 0.05))
    if name == "npairs":
        return losses.NPairsLoss()
    raise ValueError(name)


def avg_non_zero(terms):
    positive = terms > 0
    count = int(positive.sum())
    return terms[positive].sum() / count if count else terms.sum() * 0


def quadruplet(x, y, m1, m2):
    """Chen et al. 2017 on squared distances of normalised embeddings (docs/losses.md)."""
    e = F.normalize(x, dim=1)
    dist = torch.cdist(e, e) ** 2
    same = y[:, None] == y[None, :]
    eye = torch.eye(len(y), dtype=torch.bool)
    pos = same & ~eye                                   # (a, p)
    neg = ~same                                         # (a, n)
    t1 = (dist[:, :, None] - dist[:, None, :] + m1)     # [a, p, n]
    mask1 = pos[:, :, None] & neg[:, None, :]
    term1 = avg_non_zero(torch.relu(t1[mask1]))
    # [a, p, n, m]: y_m != y_a, y_m != y_n
    t2 = dist[:, :, None, None] - dist[None, None, :, :] + m2
    mask2 = pos[:, :, None, None] & neg[:, None, :, None] & neg[:, None, None, :] & neg[None, None, :, :]
    term2 = avg_non_zero(torch.relu(t2[mask2]))
    return term1 + term2


def expected(case):
    """`expected` of a metric-learning case from its inputs: loss, dembeddings, and dW or centers_after."""
    name, p, k, d = case["loss"], case["params"], case["k"], case["d"]
    x = torch.tensor(case["embeddings"], requires_grad=True)
    y = torch.tensor(case["target"])
    out = {}
    if name == "center":
        c = torch.tensor(case["centers"])
        lam, alpha = p.get("lambda", 0.01), p.get("alpha", 0.5)
        value = lam / 2 * ((x - c[y]) ** 2).sum(1).mean()
        after = c.clone()
        for j in range(k):
            members = y == j
            after[j] -= alpha * (c[j] - x.detach()[members]).sum(0) / (1 + int(members.sum()))
        out["centers_after"] = after
    elif name == "quadruplet":
        value = quadruplet(x, y, p.get("margin1", 1.0), p.get("margin2", 0.5))
    else:
        loss = pml_loss(name, p, k, d).to(torch.float64)
        if name in HEADS:
            loss.W.data = torch.tensor(case["W"])
        value = loss(x, y)
        if name in HEADS:
            value.backward()
            out["dW"] = loss.W.grad
            return {"loss": value.item(), "dembeddings": x.grad, **out}
    (dx,) = torch.autograd.grad(value, [x])
    return {"loss": value.item(), "dembeddings": dx, **out}


def compare(case, name, problems):
    e = expected(case)
    for key, value in e.items():
        common.close(common.tolist(value) if key != "loss" else value, case["expected"][key], f"{name}.{key}", problems)


def make_case(rng, name, params, n, k, d):
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    case = {"loss": name, "params": params, "n": n, "k": k, "d": d,
            "embeddings": common.tolist(torch.randn(n, d, generator=g)),
            # Every class at least twice, so that positive pairs exist.
            "target": [i % k for i in range(n)]}
    rng.shuffle(case["target"])
    if name in HEADS:
        s = int(params.get("sub_centers", 1)) if name == "subcenter_arcface" else 1
        case["W"] = common.tolist(torch.randn(d, k * s, generator=g))
    if name == "center":
        case["centers"] = common.tolist(torch.randn(k, d, generator=g) * 0.5)
    e = expected(case)
    case["expected"] = {key: (value if key == "loss" else common.tolist(value)) for key, value in e.items()}
    return case


CASES = [("arcface", {"margin_degrees": 28.6, "scale": 64}), ("arcface", {"margin_degrees": 10.0, "scale": 16}),
         ("cosface", {"margin": 0.35, "scale": 64}), ("cosface", {"margin": 0.2, "scale": 30}),
         ("sphereface", {"margin": 4, "scale": 1}), ("sphereface", {"margin": 2, "scale": 1}),
         ("subcenter_arcface", {"margin_degrees": 28.6, "scale": 64, "sub_centers": 3}),
         ("contrastive", {"pos_margin": 0.0, "neg_margin": 1.0}), ("contrastive", {"pos_margin": 0.1, "neg_margin": 0.8}),
         ("triplet", {"margin": 0.05}), ("triplet", {"margin": 0.3}), ("npairs", {}),
         ("quadruplet", {"margin1": 1.0, "margin2": 0.5}), ("quadruplet", {"margin1": 0.4, "margin2": 0.2}),
         ("center", {"lambda": 0.01, "alpha": 0.5}), ("center", {"lambda": 1.0, "alpha": 0.1})]
SIZES = [(16, 4, 8), (40, 10, 16), (24, 6, 32)]


def main():
    a = common.arguments(__doc__, "metric_losses.json")
    if a.recompute:
        import json
        file = json.load(open(a.recompute))
        problems = []
        for i, c in enumerate(file["metric_losses"]):
            compare(c, f"metric_losses[{i}] {c['loss']}", problems)
        common.report(problems, len(file["metric_losses"]), a.recompute)
    seed = 2 if a.seed is None else a.seed
    rng = random.Random(seed)
    import pytorch_metric_learning
    file = {"generator": f"PyTorch {torch.__version__}, pytorch-metric-learning {pytorch_metric_learning.__version__}, float64",
            "seed": seed, "metric_losses": [make_case(rng, name, params, n, k, d) for (name, params) in CASES for (n, k, d) in SIZES]}
    common.write(file, a.out)


if __name__ == "__main__":
    main()

"""Writes Tests/golden/losses.json: the softmax family (ce, focal, ib, ib_focal, crl) with and
without class weights, the class weights and Omega, the long-tail class sizes, and four
metric-learning cases (pytorch-metric-learning): python3 losses.py [--seed S] [--recompute FILE]."""
import random

import torch

import common
import metric_losses
import softmax_losses as sl

SIZES = [(8, 3, 4), (64, 10, 16), (37, 7, 5), (96, 10, 32)]
LOSSES = [("ce", {}), ("focal", {"gamma": 0.0, "scale": 1.0}), ("focal", {"gamma": 1.0, "scale": 1.0}),
          ("focal", {"gamma": 2.0, "scale": 1.0}), ("focal", {"gamma": 1.0, "scale": 10.0}), ("ib", {"alpha": 1000.0}),
          ("ib", {"alpha": 1.0}), ("ib_focal", {"alpha": 1000.0, "gamma": 1.0}), ("ib_focal", {"alpha": 1000.0, "gamma": 2.0}),
          ("crl", {"eta": 0.01, "kappa": 25, "margin": 0.5}), ("crl", {"eta": 0.5, "kappa": 3, "margin": 0.25})]


def long_tail(per_class, classes, ratio):
    exp = [int(per_class * (1 / ratio) ** (k / (classes - 1))) for k in range(classes)]
    step = [per_class if k < classes // 2 else int(per_class / ratio) for k in range(classes)]
    return {"per_class": per_class, "classes": classes, "ratio": ratio, "exp": exp, "step": step}


def weights_case(counts):
    return {"counts": counts, "ib": sl.class_weights("ib", counts).tolist(), "cb_0.9999": sl.class_weights("cb", counts).tolist(),
            "crl_omega": sl.omega(counts)}


def make_case(rng, name, params, weights, n, k, d):
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    counts = sorted((rng.randrange(30, 5000) for _ in range(k)), reverse=True)
    case = {"loss": name, "params": params, "class_weights": weights, "global_counts": counts,
            "weight": common.tolist(sl.class_weights(weights, counts)) if weights else None, "n": n, "k": k, "d": d,
            "logits": common.tolist(torch.randn(n, k, generator=g) * 1.5),
            "target": [rng.randrange(k) for _ in range(n)],
            "h": common.tolist(torch.randn(n, d, generator=g) * 2)}
    e = sl.expected(case)
    case["expected"] = {"loss": e["loss"], "dlogits": common.tolist(e["dlogits"]), "dh": common.tolist(e["dh"])}
    return case


def main():
    a = common.arguments(__doc__, "losses.json")
    if a.recompute:
        import json
        file = json.load(open(a.recompute))
        problems = []
        for i, c in enumerate(file["losses"]):
            e = sl.expected(c)
            common.close(e["loss"], c["expected"]["loss"], f"losses[{i}].loss", problems)
            common.close(common.tolist(e["dlogits"]), c["expected"]["dlogits"], f"losses[{i}].dlogits", problems)
            common.close(common.tolist(e["dh"]), c["expected"]["dh"], f"losses[{i}].dh", problems)
            if c["weight"]:
                common.close(sl.class_weights(c["class_weights"], c["global_counts"]).tolist(), c["weight"], f"losses[{i}].weight", problems)
        for i, c in enumerate(file["class_weights"]):
            e = weights_case(c["counts"])
            for key in ("ib", "cb_0.9999", "crl_omega"):
                common.close(e[key], c[key], f"class_weights[{i}].{key}", problems)
        for i, c in enumerate(file["long_tail_counts"]):
            e = long_tail(c["per_class"], c["classes"], c["ratio"])
            if (e["exp"], e["step"]) != (c["exp"], c["step"]):
                problems.append(f"long_tail_counts[{i}]")
        for i, c in enumerate(file["metric_losses"]):
            metric_losses.compare(c, f"metric_losses[{i}]", problems)
        common.report(problems, len(file["losses"]) + len(file["class_weights"]) + len(file["long_tail_counts"]) + len(file["metric_losses"]), a.recompute)
    seed = 1 if a.seed is None else a.seed
    rng = random.Random(seed)
    torch.manual_seed(seed)
    cases = [make_case(rng, name, params, weights, n, k, d)
             for (n, k, d) in SIZES for (name, params) in LOSSES for weights in (None, "ib", "cb")]
    counts = [[rng.randrange(30, 10000) for _ in range(k)] for k in (7, 10, 10, 3, 5, 100)]
    file = {"generator": f"PyTorch {torch.__version__} float64", "seed": seed, "losses": cases,
            "metric_losses": [metric_losses.make_case(rng, name, params, 16, 4, 8)
                              for name, params in [("arcface", {"margin_degrees": 28.6, "scale": 64}), ("cosface", {"margin": 0.35, "scale": 64}),
                                                   ("triplet", {"margin": 0.05}), ("contrastive", {"pos_margin": 0.0, "neg_margin": 1.0})]
                              for _ in range(2)],
            "class_weights": [weights_case(c) for c in counts],
            "long_tail_counts": [long_tail(p, k, r) for p, k in [(6000, 10), (5000, 10), (500, 100)] for r in (100, 50, 10)]}
    common.write(file, a.out)


if __name__ == "__main__":
    main()

"""Writes Tests/golden/decoupling.json, PyTorch float64:
- losses: label smoothing of the cross-entropy losses (PyTorch's F.cross_entropy(weight=w,
  label_smoothing=e) on the logits, plain or adjusted as longtail_losses.py adjusts them);
- lws: learnable weight scaling (Kang et al. 2020): logits s * (h W^T + b) of a linear layer,
  and the gradients of their mean cross-entropy in W, b, s and h;
- tau_norm: tau-normalised logits h (W / ||W||_row^tau)^T, bias dropped (Kang et al.'s
  classifier-balancing code).
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
    return lt.expected(case, loss)


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


def lws_expected(c):
    h = torch.tensor(c["h"], requires_grad=True)
    w = torch.tensor(c["W"], requires_grad=True)
    b = torch.tensor(c["b"], requires_grad=True)
    s = torch.tensor(c["s"], requires_grad=True)
    z = s[None, :] * (h @ w.T + b[None, :])
    value = F.cross_entropy(z, torch.tensor(c["target"]))
    dh, dw, db, ds = torch.autograd.grad(value, [h, w, b, s])
    return {"logits": common.tolist(z), "loss": value.item(), "dW": common.tolist(dw), "db": common.tolist(db),
            "ds": common.tolist(ds), "dh": common.tolist(dh)}


def tau_norm_expected(c):
    w = torch.tensor(c["W"])
    ws = w / torch.norm(w, 2, 1, keepdim=True) ** c["tau"]
    return {"weights": common.tolist(ws), "logits": common.tolist(torch.tensor(c["h"]) @ ws.T)}


def make_lws(rng, n, k, d):
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    c = {"n": n, "k": k, "d": d, "h": common.tolist(torch.randn(n, d, generator=g).relu()),
         "W": common.tolist(torch.randn(k, d, generator=g) * (2 / d) ** 0.5),
         "b": common.tolist(torch.randn(k, generator=g) * 0.1),
         "s": common.tolist(torch.rand(k, generator=g) * 1.5 + 0.25), "target": [rng.randrange(k) for _ in range(n)]}
    c["expected"] = lws_expected(c)
    return c


def make_tau_norm(rng, n, k, d, tau):
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    # Rows of unequal norms, as a long-tailed classifier's: the head classes' larger.
    norms = torch.linspace(3.0, 0.2, k)
    c = {"n": n, "k": k, "d": d, "tau": tau, "h": common.tolist(torch.randn(n, d, generator=g).relu()),
         "W": common.tolist(torch.randn(k, d, generator=g) * norms[:, None] / d ** 0.5)}
    c["expected"] = tau_norm_expected(c)
    return c


def recompute(file, problems):
    for i, c in enumerate(file["losses"]):
        e = expected(c)
        common.close(e["loss"], c["expected"]["loss"], f"losses[{i}] {c['loss']}.loss", problems)
        common.close(common.tolist(e["dlogits"]), c["expected"]["dlogits"], f"losses[{i}] {c['loss']}.dlogits", problems)
    for i, c in enumerate(file["lws"]):
        e = lws_expected(c)
        for key in ("logits", "loss", "dW", "db", "ds", "dh"):
            common.close(e[key], c["expected"][key], f"lws[{i}].{key}", problems)
    for i, c in enumerate(file["tau_norm"]):
        e = tau_norm_expected(c)
        for key in ("weights", "logits"):
            common.close(e[key], c["expected"][key], f"tau_norm[{i}].{key}", problems)
    return len(file["losses"]) + len(file["lws"]) + len(file["tau_norm"])


def main():
    a = common.arguments(__doc__, "decoupling.json")
    if a.recompute:
        file = json.load(open(a.recompute))
        problems = []
        count = recompute(file, problems)
        common.report(problems, count, a.recompute)
    seed = 43 if a.seed is None else a.seed
    rng = random.Random(seed)
    cases = [make_case(rng, name, dict(params, label_smoothing=e), weights, n, k, d)
             for (n, k, d) in SIZES for (name, params) in LOSSES for e in (0.1, 0.3)
             for weights in ((None,) if name == "balanced_softmax" else (None, "ib"))]
    lws = [make_lws(rng, n, k, d) for (n, k, d) in [(8, 3, 4), (64, 10, 16), (37, 7, 5)]]
    tau_norm = [make_tau_norm(rng, n, k, d, tau) for (n, k, d) in [(8, 3, 4), (64, 10, 16), (37, 7, 5)]
                for tau in (0.0, 0.5, 1.0, 1.7, 2.0)]
    common.write({"generator": f"PyTorch {torch.__version__} float64", "seed": seed, "losses": cases, "lws": lws,
                  "tau_norm": tau_norm}, a.out)


if __name__ == "__main__":
    main()

"""The softmax family of docs/losses.md in PyTorch float64: ce, focal, ib, ib_focal, crl, the
class weights and CRL's Omega. Imported by losses.py."""
import torch
import torch.nn.functional as F


def class_weights(kind, counts, beta=0.9999):
    n = torch.tensor(counts, dtype=torch.float64)
    k = len(counts)
    if kind == "ib":
        w = (1 / n) / (1 / n).sum() * k
    elif kind == "cb":
        w = (1 - beta) / (1 - beta ** n)
        w = w / w.sum() * k
    else:
        raise ValueError(kind)
    return w


def omega(counts):
    return (max(counts) - min(counts)) / max(counts)


def per_sample_ce(z, y, w):
    """w[y_i] * -log softmax(z)[i, y_i], from log-softmax."""
    ce = -F.log_softmax(z, 1).gather(1, y[:, None]).squeeze(1)
    return ce if w is None else ce * w[y]


def ib_factor(z, y, h, alpha):
    p = F.softmax(z, 1)
    g = (p - F.one_hot(y, z.shape[1])).abs().sum(1)
    return alpha / (g * h.abs().sum(1) + 0.001)


def crl_term(p, y, kappa, margin, rho):
    """L_crl over the batch's scores p (N, K): minority classes, hard positives and negatives
    chosen on the detached scores, triplets over the chosen scores."""
    n = len(y)
    labels = y.tolist()
    present = sorted(set(labels), key=lambda c: (labels.count(c), c))
    minority, total = [], 0
    for c in present:
        if total + labels.count(c) > rho * n:
            break
        total += labels.count(c)
        minority.append(c)
    terms = []
    for c in minority:
        members = [i for i in range(n) if labels[i] == c]
        if len(members) < 2:
            continue
        s = p[:, c]
        sd = s.detach().tolist()
        others = [i for i in range(n) if labels[i] != c]
        positives = sorted(members, key=lambda i: sd[i])[:min(kappa, len(members))]   # lowest scores, stable
        negatives = sorted(others, key=lambda i: -sd[i])[:min(kappa, len(others))]    # highest scores, stable
        for a in members:
            for q in positives:
                for m in negatives:
                    terms.append(torch.relu(margin + (s[a] - s[q]).abs() - (s[a] - s[m])))
    return torch.stack(terms).mean() if terms else p.sum() * 0


def loss(name, params, z, y, h, w, counts):
    """The loss `name` of docs/losses.md with its parameters."""
    if name == "ce":
        return F.cross_entropy(z, y, weight=w)
    if name == "focal":
        ce = per_sample_ce(z, y, w)
        gamma, scale = params.get("gamma", 1.0), params.get("scale", 1.0)
        return scale * ((1 - torch.exp(-ce)) ** gamma * ce).mean()
    if name == "ib":
        return (per_sample_ce(z, y, w) * ib_factor(z, y, h, params.get("alpha", 1000.0))).mean()
    if name == "ib_focal":
        ce = per_sample_ce(z, y, w)
        return ((1 - torch.exp(-ce)) ** params.get("gamma", 1.0) * ce * ib_factor(z, y, h, params.get("alpha", 1000.0))).mean()
    if name == "crl":
        a = params.get("eta", 0.01) * omega(counts)
        rect = crl_term(F.softmax(z, 1), y, int(params.get("kappa", 25)), params.get("margin", 0.5), params.get("rho", 0.5))
        return a * rect + (1 - a) * F.cross_entropy(z, y, weight=w)
    raise ValueError(name)


def expected(case):
    """`expected` of a case of golden/losses.json from its inputs."""
    z = torch.tensor(case["logits"], requires_grad=True)
    h = torch.tensor(case["h"], requires_grad=True)
    y = torch.tensor(case["target"])
    w = class_weights(case["class_weights"], case["global_counts"]) if case["class_weights"] else None
    value = loss(case["loss"], case["params"], z, y, h, w, case["global_counts"])
    dz, dh = torch.autograd.grad(value, [z, h], allow_unused=True)
    return {"loss": value.item(), "dlogits": dz, "dh": dh if dh is not None else torch.zeros_like(h)}

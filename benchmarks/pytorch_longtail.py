#!/usr/bin/env python3
"""The long-tail recipes of docs/losses.md's accuracy table, in PyTorch: the reference figure
beside each of ddp-train's.

The default job's setting: the mlp (or cnn) on Fashion-MNIST made long-tailed (ratio 100, from
pytorch_reference.py: PyTorch's own subset, so the figures agree in distribution, not bit for
bit), batch 128, SGD 0.1 with momentum 0.9 and weight decay 2e-4, Kaiming-normal weights and
zero biases as ddp-train initialises them, 30 epochs under the IB paper's schedule (5 warm-up
epochs, x0.01 from 80%, x1e-4 from 90%; the IB losses at x0.01 from their start, epoch 15).
Recipes (ddp-train's options in brackets):
  ce            cross-entropy                                   [--loss ce]
  ce-cb         class-balanced sampling                         [--sampler class-balanced]
  ce-drs        uniform, class-balanced from 80% of the epochs  [--drs-epoch 80%]
  ce-drw        class-balanced weights (beta 0.9999) from 80%   [--class-weights cb --drw-epoch 80%]
  crt, lws      + 10 epochs of Kang et al.'s second stage: frozen features, class-balanced
                sampling, a half-cosine from 0.1; cRT re-initialises and trains the classifier,
                LWS a scale per class on its logits                       [--stage2 crt|lws]
  taunorm       the ce model's rows w_k / ||w_k||, bias dropped           [--tau-norm 1]
  ib, ib-drs    IB (CE for the first 15 epochs), with DRS from 80%        [--loss ib (--drs-epoch 80%)]

  python3 benchmarks/pytorch_longtail.py --model mlp --seeds 0 1 2 --threads 2

Prints one JSON line per recipe and seed (test accuracy, balanced, many / medium / few by
training count: top 30%, middle 40%, bottom 30% of the classes), then a markdown table of the
means and standard deviations. PyTorch is not a dependency of ddp-train or its CI.
"""
import argparse, json, math, os, statistics
import torch
import torch.nn as nn
import torch.nn.functional as F
from pytorch_reference import ib_loss, idx, make_model, training_set

RECIPES = ["ce", "ce-cb", "ce-drs", "ce-drw", "crt", "lws", "taunorm", "ib", "ib-drs"]


def init_like_ddp_train(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2 / fan_in))
                if m.bias is not None:
                    m.bias.zero_()


def order(y, k, sampler, n, g):
    """An epoch's sample indices: a permutation, or n class-balanced draws."""
    if sampler == "uniform":
        return torch.randperm(n, generator=g)
    members = [(y == c).nonzero().flatten() for c in range(k)]
    classes = torch.randint(k, (n,), generator=g)
    picks = torch.rand(n, generator=g)
    return torch.stack([members[c][int(p * len(members[c]))] for c, p in zip(classes.tolist(), picks.tolist())])


def lr_at(epoch, epochs, base, slower):
    factor = (epoch + 1) / 5 if epoch < 5 else 1.0
    if epoch >= 5:
        factor *= 1e-4 if epoch >= 0.9 * epochs else (1e-2 if epoch >= 0.8 * epochs else 1)
    return base * factor * (0.01 if slower is not None and epoch >= slower else 1)


def cb_weights(counts, beta=0.9999):
    w = (1 - beta) / (1 - beta ** counts)
    return (w / w.sum() * len(counts)).float()


def evaluate(model, x, y, counts, classes, head=None):
    with torch.no_grad():
        logits, h = model(x)
        if head is not None:
            logits = head(h)
    pred = logits.argmax(1)
    recall = torch.stack([(pred[y == c] == c).double().mean() for c in range(classes)])
    ranked = sorted(range(classes), key=lambda c: (-counts[c], c))
    n_many, n_few = int(0.3 * classes + 0.5), int(0.3 * classes + 0.5)
    group = lambda cs: float(recall[cs].mean())
    return {"test_acc": float((pred == y).double().mean()), "balanced_acc": float(recall.mean()),
            "many": group(ranked[:n_many]), "medium": group(ranked[n_many:classes - n_few]),
            "few": group(ranked[classes - n_few:])}


def train(recipe, model_name, seed, data, epochs=30, stage2_epochs=10, batch=128, base=0.1):
    torch.manual_seed(seed)
    x, y, k, ib_weight, mean, std = training_set(data)
    xt = (idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")).float() / 255 - mean) / std
    yt = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"))
    counts = torch.bincount(y, minlength=k).double()
    model = make_model(model_name, x, k)
    init_like_ddp_train(model, seed)
    opt = torch.optim.SGD(model.parameters(), lr=base, momentum=0.9, weight_decay=2e-4)
    g = torch.Generator().manual_seed(seed + 1)
    two_phase = recipe.startswith("ib")
    slower = min(epochs // 2, math.ceil(0.8 * epochs)) if two_phase else None
    late = int(0.8 * epochs)
    for epoch in range(epochs):
        sampler = "class-balanced" if recipe == "ce-cb" or (recipe.endswith("drs") and epoch >= late) else "uniform"
        weight = cb_weights(counts) if recipe == "ce-drw" and epoch >= late else None
        for group in opt.param_groups:
            group["lr"] = lr_at(epoch, epochs, base, slower)
        model.train()
        perm = order(y, k, sampler, len(y), g)
        for s in range(0, len(y), batch):
            i = perm[s:s + batch]
            logits, h = model(x[i])
            if two_phase and epoch >= epochs // 2:
                loss = ib_loss(logits, y[i], h, ib_weight)
            else:
                loss = F.cross_entropy(logits, y[i], weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    head = None
    if recipe == "taunorm":
        w = model.fc3.weight if model_name == "mlp" else model.fc.weight
        rows = (w / w.norm(dim=1, keepdim=True)).detach()
        head = lambda h: h @ rows.T
    if recipe in ("crt", "lws"):
        head = stage2(model, model_name, recipe, x, y, k, g, seed, stage2_epochs, batch, base)
    return evaluate(model, xt, yt, counts.tolist(), k, head)


def stage2(model, model_name, recipe, x, y, k, g, seed, epochs, batch, base):
    """Kang et al.'s second stage on frozen features (evaluation mode): the classifier re-trained
    (cRT) or a scale per class learnt (LWS), class-balanced, a half-cosine per step."""
    fc = model.fc3 if model_name == "mlp" else model.fc
    for p in model.parameters():
        p.requires_grad_(False)
    if recipe == "crt":
        init_like_ddp_train(fc, seed ^ 0x5354414745)
        params = list(fc.parameters())
        for p in params:
            p.requires_grad_(True)
        head = fc
    else:
        scales = nn.Parameter(torch.ones(k))
        params = [scales]
        head = lambda h: scales * fc(h)
    opt = torch.optim.SGD(params, lr=base, momentum=0.9, weight_decay=2e-4)
    steps = math.ceil(len(y) / batch)
    for epoch in range(epochs):
        perm = order(y, k, "class-balanced", len(y), g)
        for j, s in enumerate(range(0, len(y), batch)):
            for group in opt.param_groups:
                group["lr"] = base * 0.5 * (1 + math.cos(math.pi * (epoch * steps + j) / (epochs * steps)))
            i = perm[s:s + batch]
            with torch.no_grad():
                _, h = model(x[i])
            loss = F.cross_entropy(head(h), y[i])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return head


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--recipes", nargs="+", default=RECIPES, choices=RECIPES)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    results = {}
    for recipe in a.recipes:
        for seed in a.seeds:
            r = train(recipe, a.model, seed, a.data)
            print(json.dumps({"recipe": recipe, "model": a.model, "seed": seed, **r}), flush=True)
            results.setdefault(recipe, []).append(r)
    cell = lambda v: f"{100 * statistics.mean(v):.2f} ± {100 * (statistics.stdev(v) if len(v) > 1 else 0):.2f}"
    print("| recipe | seeds | test acc % | balanced % | many % | medium % | few % |\n|---|---|---|---|---|---|---|")
    for recipe, rs in results.items():
        print(f"| {recipe} | {len(rs)} | " + " | ".join(cell([r[key] for r in rs])
                                                      for key in ("test_acc", "balanced_acc", "many", "medium", "few")) + " |")


if __name__ == "__main__":
    main()

"""Writes Tests/golden/miners.json: pytorch-metric-learning 2.9's TripletMarginLoss over the
triplets its miners keep (TripletMarginMiner all / hard / semihard / easy, BatchHardMiner), the
miner's margin the loss's, float64: python3 miners.py [--seed S] [--recompute FILE]."""
import json
import random

import torch

import common

MINERS = ["all", "hard", "semihard", "easy", "batch-hard"]


def expected(embeddings, labels, miner, margin):
    """(mined triplets, loss, d loss / d embeddings)."""
    from pytorch_metric_learning import losses, miners
    x = torch.tensor(embeddings, requires_grad=True)
    y = torch.tensor(labels)
    mine = miners.BatchHardMiner() if miner == "batch-hard" else miners.TripletMarginMiner(margin=margin, type_of_triplets=miner)
    triplets = mine(x, y)
    value = losses.TripletMarginLoss(margin=margin)(x, y, triplets)
    (dx,) = torch.autograd.grad(value, [x])
    return len(triplets[0]), value.item(), dx


def main():
    a = common.arguments(__doc__, "miners.json")
    if a.recompute:
        file = json.load(open(a.recompute))
        problems = []
        for i, c in enumerate(file["cases"]):
            mined, value, dx = expected(c["embeddings"], c["labels"], c["miner"], c["margin"])
            if mined != c["mined_triplets"]:
                problems.append(f"cases[{i}]: {mined} triplets mined, the file says {c['mined_triplets']}")
            common.close(value, c["value"], f"cases[{i}].value", problems)
            common.close(common.tolist(dx), c["grad"], f"cases[{i}].grad", problems)
        common.report(problems, len(file["cases"]), a.recompute)
    seed = 7 if a.seed is None else a.seed
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    cases = []
    for n, d, k in [(12, 4, 3), (24, 8, 4), (40, 16, 5), (33, 6, 7)]:
        labels = [i % k for i in range(n)]
        rng.shuffle(labels)
        embeddings = common.tolist(torch.randn(n, d, generator=g))
        for margin in (0.05, 0.2):
            for miner in MINERS:
                mined, value, dx = expected(embeddings, labels, miner, margin)
                cases.append({"loss": "triplet", "miner": miner, "margin": margin, "embeddings": embeddings, "labels": labels,
                              "mined_triplets": mined, "value": value, "grad": common.tolist(dx)})
    common.write({"generator": "pytorch-metric-learning (float64), TripletMarginLoss with miners; embeddings L2-normalised by PML's default distance",
                  "seed": seed, "cases": cases}, a.out)


if __name__ == "__main__":
    main()

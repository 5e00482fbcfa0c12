#!/usr/bin/env python3
"""The default ddp-train job, whole, in PyTorch: for the wall-time ratio of issue 30.

The same epochs as `ddp-train` with no options (docs/usage.md, "The default job"): the mlp
on Fashion-MNIST made long-tailed (ratio 100), batch 128, SGD 0.1 with momentum 0.9 and
weight decay 2e-4, the IB paper's schedule (5 warm-up epochs; x0.01 from the IB start,
x1e-4 from 80%, x1e-6 from 90%), cross-entropy and then IB with its class weights from
epoch 15 of 30. After every epoch, as ddp-train does: the test set's accuracy (overall,
balanced, many/medium/few, per class, confusion), retrieval on the test features
(precision@1, R-precision, MAP@R, queries sharded over the ranks, as pytorch-metric-learning's
AccuracyCalculator defines them), k-means of the features (k-means++ then 20 Lloyd
iterations) with NMI and AMI (scikit-learn), a checkpoint of model and optimiser, and a
metrics line. Models, data and loss come from pytorch_reference.py.

  OMP_NUM_THREADS=1 torchrun --nproc_per_node=2 benchmarks/pytorch_job.py --threads 1
  python3 benchmarks/pytorch_job.py --threads 2

Prints one JSON line per epoch (with the phases' seconds) and one with the wall time from
start to exit. PyTorch is not a dependency of ddp-train or its CI.
"""
import json, os, tempfile, time
T0 = time.perf_counter()
import torch
import torch.nn.functional as F
import torch.distributed as dist
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score
from pytorch_reference import arguments, ib_loss, idx, make_model, start, training_set


def lr_at(epoch, base, epochs, ib_start, warmup=5):
    if epoch < warmup:
        return base * (epoch + 1) / warmup
    if epoch >= int(0.9 * epochs):
        return base * 1e-6
    if epoch >= int(0.8 * epochs):
        return base * 1e-4
    return base * 0.01 if epoch >= ib_start else base


def gather(t, world):
    if world == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(world)]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts)


def retrieval_sums(q, qy, first, x, y, k):
    """Per-class sums of precision@1, R-precision, AP@R and query counts: queries q (rows first.. of
    the references x) among x, a query never its own neighbour."""
    counts = torch.bincount(y, minlength=k)
    out = torch.zeros(4, k, dtype=torch.float64)
    norms = (x * x).sum(1)
    r_max = int(counts.max()) - 1
    for start in range(0, len(q), 256):
        qb, yb = q[start:start + 256], qy[start:start + 256]
        d = (qb * qb).sum(1, keepdim=True) + norms - 2 * qb @ x.T
        self_index = torch.arange(start, start + len(qb)) + first
        d[torch.arange(len(qb)), self_index] = float("inf")
        nearest = d.topk(r_max, dim=1, largest=False, sorted=True).indices
        relevant = counts[yb] - 1
        hit = (y[nearest] == yb[:, None]) & (torch.arange(r_max)[None, :] < relevant[:, None])
        cum = hit.cumsum(1)
        p1 = hit[:, 0].double()
        rp = cum[torch.arange(len(qb)), relevant - 1].double() / relevant
        ap = (hit * cum / torch.arange(1, r_max + 1)).sum(1).double() / relevant
        for row, values in enumerate((p1, rp, ap, torch.ones_like(p1))):
            out[row].index_add_(0, yb, values)
    return out



def kmeans(x, k, iterations=20, seed=0x6B6D):
    g = torch.Generator().manual_seed(seed)
    centres = [x[torch.randint(len(x), (1,), generator=g)].squeeze(0)]
    nearest = torch.full((len(x),), float("inf"))
    for _ in range(1, k):
        nearest = torch.minimum(nearest, ((x - centres[-1]) ** 2).sum(1))
        centres.append(x[torch.multinomial(nearest, 1, generator=g)].squeeze(0))
    c = torch.stack(centres)
    for _ in range(iterations):
        assign = ((c * c).sum(1) - 2 * x @ c.T).argmin(1)
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        n = torch.bincount(assign, minlength=k)[:, None]
        c = torch.where(n > 0, sums / n.clamp(min=1), c)
    return assign


def main():
    args = arguments(epochs=(int, 30), lr=(float, 0.1))
    distributed, rank, world = start(args.threads)
    x, y, k, weight, mean, std = training_set(args.data)
    tx = (idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).float() / 255 - mean) / std
    ty = idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))
    ranked = torch.bincount(y, minlength=k).argsort(descending=True)
    many, few = ranked[:k // 3], ranked[k - k // 3:]  # the largest and the smallest thirds of the classes

    net = make_model(args.model, x, k)
    model = torch.nn.parallel.DistributedDataParallel(net) if distributed else net
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=2e-4)
    ib_start = args.epochs // 2
    local = args.batch_size // world
    steps = len(y) // args.batch_size
    shard = torch.arange(rank, len(ty), world)  # this rank's test samples (queries)
    checkpoint = os.path.join(tempfile.mkdtemp(), "last.pt")

    for epoch in range(args.epochs):
        phases = {}
        t = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = lr_at(epoch, args.lr, args.epochs, ib_start)
        perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        model.train()
        total = 0.0
        for s in range(steps):
            batch = perm[s * args.batch_size + rank:(s + 1) * args.batch_size:world][:local]
            logits, h = model(x[batch])
            if epoch >= ib_start:
                loss = ib_loss(logits, y[batch], h, weight)
            else:
                loss = F.cross_entropy(logits, y[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        phases["steps_s"], t = time.perf_counter() - t, time.perf_counter()

        model.eval()
        with torch.no_grad():
            logits, h = net(tx[shard])
        pred, h_all = gather(logits.argmax(1), world), gather(h, world)
        order = torch.cat([torch.arange(r, len(ty), world) for r in range(world)])
        labels = ty[order]
        confusion = torch.zeros(k, k, dtype=torch.long).index_put_((labels, pred), torch.ones_like(pred), accumulate=True)
        per_class = (confusion.diag().double() / confusion.sum(1).double())
        acc = float(confusion.diag().sum()) / len(ty)
        phases["evaluation_s"], t = time.perf_counter() - t, time.perf_counter()

        first = rank * len(shard)  # gathered in rank order, each rank's shard whole
        mine = h_all[first:first + len(shard)]
        sums = retrieval_sums(mine, labels[first:first + len(shard)], first, h_all, labels, k)
        if distributed:
            dist.all_reduce(sums)
        p_at_1, r_prec, map_r = (float(sums[i].sum() / sums[3].sum()) for i in range(3))
        phases["retrieval_s"], t = time.perf_counter() - t, time.perf_counter()

        clusters = kmeans(h_all, k)
        nmi = normalized_mutual_info_score(labels.numpy(), clusters.numpy())
        ami = adjusted_mutual_info_score(labels.numpy(), clusters.numpy())
        phases["clusters_s"], t = time.perf_counter() - t, time.perf_counter()

        if rank == 0:
            torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)
        if distributed:
            dist.barrier()
        phases["checkpoint_s"], t = time.perf_counter() - t, time.perf_counter()
        if rank == 0:
            print(json.dumps({"epoch": epoch, "train_loss": total / steps, "test_acc": 100 * acc,
                              "balanced_acc": 100 * float(per_class.mean()),
                              "many": 100 * float(per_class[many].mean()), "few": 100 * float(per_class[few].mean()),
                              "precision_at_1": p_at_1, "r_precision": r_prec, "map_at_r": map_r,
                              "nmi": nmi, "ami": ami, "profile": {n: round(v, 4) for n, v in phases.items()}}), flush=True)
    if rank == 0:
        print(json.dumps({"event": "done", "framework": "pytorch " + torch.__version__, "ranks": world,
                          "threads_per_rank": args.threads, "wall_s": round(time.perf_counter() - T0, 2)}), flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

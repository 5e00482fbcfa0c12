#!/usr/bin/env python3
"""The work `ddp-train bench` measures, in PyTorch, for a side-by-side comparison.

Same models (mlp, cnn, resnet32 with option-A shortcuts), same data (Fashion-MNIST
from Debian's dataset-fashion-mnist, long-tailed with ratio 100, normalised, held
in memory), same loss (IB with its gradient into the features), SGD with momentum
0.9 and weight decay 2e-4, global batch 128. Prints training samples/s after warm-up.

  python3 benchmarks/pytorch_reference.py --model mlp --threads 2
  python3 benchmarks/pytorch_reference.py --model mlp --threads 1
  OMP_NUM_THREADS=1 torchrun --nproc_per_node=2 benchmarks/pytorch_reference.py --model mlp --threads 1

torchvision's models (resnet10 as the decoupling code, resnet18/34/50, resnext50_32x4d) train on
an image folder (DIR/train/CLASS/*.png, benchmarks/make_image_folder.py) as `bench --data DIR
--imbalance-ratio 1` does: the images decoded and normalised per channel, held in memory, the
features h the pooled vector before `fc`. The last line also gives the peak resident memory
(the largest rank's, MiB).

PyTorch is not a dependency of ddp-train or its CI.
"""
import argparse, gzip, json, os, struct, time
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.distributed as dist

TORCHVISION = ["resnet10", "resnet18", "resnet34", "resnet50", "resnext50_32x4d"]


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:16 + n * h * w]), dtype=torch.uint8).view(n, 1, h, w)
    return torch.frombuffer(bytearray(data[8:8 + n]), dtype=torch.uint8).long()


def long_tail(x, y, ratio, seed):
    k = int(y.max()) + 1
    n_max = max(int((y == c).sum()) for c in range(k))
    g = torch.Generator().manual_seed(seed)
    keep = []
    for c in range(k):
        n_c = int(n_max * (1 / ratio) ** (c / (k - 1)))
        idx_c = (y == c).nonzero().flatten()
        keep.append(idx_c[torch.randperm(len(idx_c), generator=g)[:n_c]])
    keep = torch.cat(keep).sort().values
    return x[keep], y[keep]


class MLP(nn.Module):
    def __init__(self, d_in, k):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(d_in, 512), nn.Linear(512, 256), nn.Linear(256, k)

    def forward(self, x):
        h = F.relu(self.fc2(F.relu(self.fc1(x.flatten(1)))))
        return self.fc3(h), h


class CNN(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(c, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.Conv2d(64, 128, 3, padding=1)
        self.fc = nn.Linear(128, k)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        h = F.relu(self.conv3(x)).mean((2, 3))
        return self.fc(h), h


class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if stride != 1 or inp != planes else 0
        self.stride = stride

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        short = x if self.pad == 0 else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + short)


class ResNet32(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        blocks, inp = [], 16
        for stage, planes in enumerate([16, 32, 64]):
            for i in range(5):
                blocks.append(BasicBlock(inp, planes, 2 if i == 0 and stage > 0 else 1))
                inp = planes
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(64, k)

    def forward(self, x):
        h = self.blocks(F.relu(self.bn1(self.conv1(x)))).mean((2, 3))
        return self.linear(h), h


def ib_loss(logits, target, h, weight, alpha=1000.0):
    grads = torch.sum(torch.abs(F.softmax(logits, dim=1) - F.one_hot(target, logits.shape[1])), 1)
    ib = alpha / (grads * h.abs().sum(1) + 0.001)
    return (F.cross_entropy(logits, target, reduction="none", weight=weight) * ib).mean()


def arguments(**extra):
    """The options both scripts share, and the script's own (name=(type, default))."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn", "resnet32"] + TORCHVISION)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--batch-size", type=int, default=128)
    for name, (kind, default) in extra.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=default)
    return p.parse_args()


def start(threads):
    """The process group under torchrun, threads, denormals and the seed: (distributed, rank, world)."""
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    torch.set_num_threads(threads)
    # ddp-train flushes denormals to zero; give PyTorch the same (its default keeps them, which
    # can slow long runs down several times on x86).
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    return distributed, rank, world


def training_set(data):
    """The long-tailed training set, normalised: x, y, the classes k, IB's class weights, and
    the training set's mean and standard deviation (for the test set)."""
    x = idx(os.path.join(data, "train-images-idx3-ubyte.gz"))
    y = idx(os.path.join(data, "train-labels-idx1-ubyte.gz"))
    x, y = long_tail(x, y, 100, 0)
    x = x.float() / 255
    mean, std = x.mean(), x.std()
    x = (x - mean) / std
    k = int(y.max()) + 1
    counts = torch.bincount(y, minlength=k).double()
    weight = ((1 / counts) / (1 / counts).sum() * k).float()
    return x, y, k, weight, mean, std


def image_folder(data):
    """DIR/train/CLASS/*.png as bench reads it with --imbalance-ratio 1: x normalised per channel
    by the training set's mean and deviation, y, k, IB's class weights."""
    from torchvision.io import read_image
    root = os.path.join(data, "train")
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    xs, ys = [], []
    for label, name in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(root, name))):
            xs.append(read_image(os.path.join(root, name, f)))
            ys.append(label)
    x, y = torch.stack(xs).float() / 255, torch.tensor(ys)
    mean, std = x.mean((0, 2, 3), keepdim=True), x.std((0, 2, 3), keepdim=True)
    k = len(classes)
    counts = torch.bincount(y, minlength=k).double()
    weight = ((1 / counts) / (1 / counts).sum() * k).float()
    return (x - mean) / std, y, k, weight


class Torchvision(nn.Module):
    """A torchvision model whose forward also returns h, the pooled features before `fc`."""
    def __init__(self, name, k):
        super().__init__()
        import torchvision.models as tv
        if name == "resnet10":
            self.net = tv.resnet.ResNet(tv.resnet.BasicBlock, [1, 1, 1, 1], num_classes=k)
        else:
            self.net = getattr(tv, name)(num_classes=k)
        self.fc, self.net.fc = self.net.fc, nn.Identity()

    def forward(self, x):
        h = self.net(x)
        return self.fc(h), h


def make_model(name, x, k):
    if name in TORCHVISION:
        return Torchvision(name, k)
    return {"mlp": lambda: MLP(x[0].numel(), k), "cnn": lambda: CNN(x.shape[1], k), "resnet32": lambda: ResNet32(x.shape[1], k)}[name]()


def peak_mib(distributed):
    """The largest rank's peak resident memory (VmHWM) in MiB."""
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    peak = torch.tensor([kib], dtype=torch.float64)
    if distributed:
        dist.all_reduce(peak, op=dist.ReduceOp.MAX)
    return round(float(peak[0]) / 1024)


def main():
    args = arguments(steps=(int, 200), warmup=(int, 5))
    distributed, rank, world = start(args.threads)
    if args.model in TORCHVISION:
        x, y, k, weight = image_folder(args.data)
    else:
        x, y, k, weight, _, _ = training_set(args.data)
    model = make_model(args.model, x, k)
    if distributed:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=2e-4)
    local = args.batch_size // world
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(1))

    def step(s):
        start = (s * args.batch_size) % max(1, len(y) - args.batch_size)
        idx_ = perm[start + rank:start + args.batch_size:world][:local]
        logits, h = model(x[idx_])
        loss = ib_loss(logits, y[idx_], h, weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    for s in range(args.warmup):
        step(s)
    if distributed:
        dist.barrier()
    t0 = time.perf_counter()
    for s in range(args.steps):
        step(args.warmup + s)
    if distributed:
        dist.barrier()
    seconds = time.perf_counter() - t0
    peak = peak_mib(distributed)
    if rank == 0:
        total = args.steps * args.batch_size / seconds
        print(json.dumps({"framework": "pytorch " + torch.__version__, "model": args.model, "ranks": world,
                          "threads_per_rank": args.threads, "batch_size": args.batch_size,
                          "samples_per_s_total": round(total, 2), "samples_per_s_per_rank": round(total / world, 2),
                          "step_ms": round(1000 * seconds / args.steps, 3), "peak_rss_mib": peak,
                          "input_shape": list(x.shape[1:])}))
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

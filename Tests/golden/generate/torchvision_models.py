"""torchvision/models.json: torchvision's ResNets (resnet10 as OLTR's and the decoupling code's:
torchvision's ResNet with BasicBlock and layers [1, 1, 1, 1]), with weights and inputs that the
test computes from the same formula, so no weights are committed:

    u(i, c) = frac(sin(12.9898 i + 78.233 c) * 43758.5453) - 0.5, uniform-looking in [-0.5, 0.5)
    (double precision, the C library's sin); value[i] of tensor NAME (flat index i) =
    float32(f(NAME, i)), with s = u(i, c(NAME)), c(NAME) = sum of NAME's UTF-8 bytes mod 97:
      *.running_mean: 0.1 s;  *.running_var: 1 + 0.5 |s|;  1-D *.weight (batch norm): 1 + 0.1 s;
      *.bias: 0.1 s;  other weights: s sqrt(24 / fan_in) (He's variance 2 / fan_in), fan_in =
      the product of the shape after the first
    input x[i] = float32(2 u(i, 0)), (2, 3, size, size); labels [1, 3]; 10 classes.
(A smooth formula such as sin(0.37 i) makes filters that cancel on a smooth input: batch norm in
training mode then divides by a near-zero deviation, and PyTorch's own float32 and float64
disagree in the first digit.)

Per model and mode (train: batch norm on the batch; eval: on the running statistics): the logits,
the mean cross-entropy, and for every parameter the sum and the sum of absolute values of its
gradient and its gradient at five indices. PyTorch in float64 from the float32 values.

    python torchvision_models.py --out ../torchvision/models.json
"""
import argparse, json, math
import torch, torchvision
from torchvision.models.resnet import ResNet, BasicBlock


def build(name):
    if name == "resnet10":
        return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
    return getattr(torchvision.models, name)(weights=None, num_classes=10)


def u(n, c):
    def one(i):
        v = math.sin(12.9898 * i + 78.233 * c) * 43758.5453
        return v - math.floor(v) - 0.5
    return torch.tensor([one(i) for i in range(n)], dtype=torch.float64)


def formula(name, shape):
    n = math.prod(shape)
    c = sum(name.encode()) % 97
    s = u(n, c)
    if name.endswith("running_mean"):
        v = 0.1 * s
    elif name.endswith("running_var"):
        v = 1 + 0.5 * s.abs()
    elif name.endswith("weight") and len(shape) == 1:
        v = 1 + 0.1 * s
    elif name.endswith("bias"):
        v = 0.1 * s
    else:
        v = s * math.sqrt(24 / math.prod(shape[1:]))
    return v.float().double().reshape(shape)


def run(name, mode, size, dtype):
    """The logits, the loss and the parameters' gradients (None for 224 px) in `dtype`."""
    model = build(name).to(dtype)
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if not key.endswith("num_batches_tracked"):
                t.copy_(formula(key, list(t.shape)).to(dtype))
    model.train(mode == "train")
    x = (2 * u(2 * 3 * size * size, 0)).float().to(dtype).reshape(2, 3, size, size)
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([1, 3]))
    if size > 64:
        return logits.double(), loss.item(), None
    loss.backward()
    return logits.double(), loss.item(), {k: p.grad.double().flatten() for k, p in model.named_parameters()}


def case(name, mode, size):
    """float64's figures, and how far PyTorch's own float32 is from them (`float32_error`: the
    largest difference of a logit over the largest logit, and of a gradient sample over the larger
    of its value and its tensor's mean absolute gradient), the scale of any float32 result's error."""
    logits, loss, grads = run(name, mode, size, torch.float64)
    logits32, loss32, grads32 = run(name, mode, size, torch.float32)
    scale = logits.abs().max().item()
    out = {"model": name, "mode": mode, "size": size, "logits": logits.flatten().tolist(), "loss": loss,
           "float32_error": {"logits": (logits32 - logits).abs().max().item() / scale,
                             "loss": abs(loss32 - loss) / abs(loss)}}
    if grads is None:
        return out  # forward only
    out["gradients"], worst = {}, 0.0
    for key, g in grads.items():
        n = g.numel()
        mean = g.abs().sum().item() / n
        idx = sorted({0, n // 3, n // 2, (2 * n) // 3, n - 1})
        out["gradients"][key] = {"sum": g.sum().item(), "abs_sum": g.abs().sum().item(),
                                 "samples": [[i, g[i].item()] for i in idx]}
        for i in idx:
            worst = max(worst, abs(grads32[key][i].item() - g[i].item()) / max(abs(g[i].item()), mean, 1e-30))
    out["float32_error"]["gradients"] = worst
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    a = p.parse_args()
    cases = []
    for name in ["resnet10", "resnet18", "resnet34", "resnet50", "resnext50_32x4d"]:
        for mode in ["train", "eval"]:
            cases.append(case(name, mode, 64))
    cases.append(case("resnet50", "eval", 224))
    with open(a.out, "w") as f:
        json.dump({"generator": "torchvision_models.py", "torch": torch.__version__,
                   "torchvision": torchvision.__version__, "cases": cases}, f)
        f.write("\n")

"""Writes Tests/golden/explain/explain.json: saliency (captum), CAM (zhoubolei/CAM), Grad-CAM and
Grad-CAM++ (pytorch-grad-cam 1.5.7) of a cnn and a resnet32 on Fashion-MNIST test images, as
docs/explain.md defines them, PyTorch float32. The weights are the safetensors files beside the
JSON (ddp-train's names and layouts); --init SEED makes new random ones (batch-norm statistics
included) and writes them there first.
python3 explain.py [--seed S] [--init SEED] [--recompute FILE]."""
import gzip
import json
import os
import random
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import common

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.286, 0.353
TARGET_LAYER = {"cnn": "relu(conv3)", "resnet32": "layer3"}


class CNN(nn.Module):
    def __init__(self, c=1, k=10):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(c, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.Conv2d(64, 128, 3, padding=1)
        # ReLU modules (captum's guided backpropagation and deconvnet hook them); relu3's output
        # is the target layer relu(conv3).
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()
        self.fc = nn.Linear(128, k)

    def features(self, x):
        x = F.max_pool2d(self.relu1(self.conv1(x)), 2)
        x = F.max_pool2d(self.relu2(self.conv2(x)), 2)
        return self.relu3(self.conv3(x))

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))

    def target(self):
        return self.relu3

    def classifier_weights(self):
        return self.fc.weight


class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
        self.pad = planes // 4 if stride != 1 or inp != planes else 0

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        short = x if self.pad == 0 else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return self.relu2(out + short)


class ResNet32(nn.Module):
    """The CIFAR ResNet-32 with option-A shortcuts, named as ddp-train names it (layer1.0.conv1, linear)."""

    def __init__(self, c=1, k=10):
        super().__init__()
        self.conv1, self.bn1, self.relu = nn.Conv2d(c, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        inp = 16
        for stage, planes in enumerate([16, 32, 64]):
            blocks = []
            for i in range(5):
                blocks.append(BasicBlock(inp, planes, 2 if i == 0 and stage > 0 else 1))
                inp = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, k)

    def features(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def forward(self, x):
        return self.linear(self.features(x).mean((2, 3)))

    def target(self):
        return self.layer3

    def classifier_weights(self):
        return self.linear.weight


MODELS = {"cnn": CNN, "resnet32": ResNet32}


def test_images(indices):
    """Fashion-MNIST test images `indices`, normalised, (N, 1, 28, 28) float32."""
    path = os.path.join(DATA, "t10k-images-idx3-ubyte")
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    _, n, h, w = struct.unpack(">IIII", raw[:16])
    images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 1, h, w).astype(np.float32) / 255
    return torch.tensor((images[indices] - MEAN) / STD, dtype=torch.float32)


def load(name, path):
    from safetensors.torch import load_file
    model = MODELS[name]().float().eval()
    model.load_state_dict(load_file(path), strict=True)
    return model


def random_weights(name, seed, path):
    """New random weights (PyTorch's initialisation, batch-norm statistics and affine parameters
    drawn too, so that evaluation mode matters), written in ddp-train's layout."""
    from safetensors.torch import save_file
    torch.manual_seed(seed)
    model = MODELS[name]().float()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path, metadata={"format": "pt", "model": name})


def resize(m, h, w):
    """OpenCV's INTER_LINEAR, as pytorch-grad-cam and CAM resize."""
    import cv2
    return cv2.resize(np.asarray(m, dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


SETTINGS = {"integrated_gradients_steps": 50, "occlusion_window": 4, "occlusion_stride": 2}


def maps(model, x, classes, settings=SETTINGS):
    """Every deterministic method's maps for image b's class classes[b] (docs/explain.md)."""
    from captum.attr import Deconvolution, GuidedBackprop, GuidedGradCam, IntegratedGradients, Occlusion, Saliency
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    n, _, h, w = x.shape
    out = {}
    out["saliency"] = Saliency(model).attribute(x.clone().requires_grad_(), target=classes, abs=True).amax(1)
    with torch.no_grad():
        a = model.features(x)
        raw = torch.stack([torch.einsum("k,kij->ij", model.classifier_weights()[c], a[b]) for b, c in enumerate(classes)])
    out["cam_raw"] = raw
    shown = []
    for m in raw.numpy():
        m = m - m.min()
        shown.append(resize(m / m.max(), h, w))
    out["cam"] = np.stack(shown)
    targets = [ClassifierOutputTarget(c) for c in classes]
    for key, method in (("gradcam", GradCAM), ("gradcam_plus_plus", GradCAMPlusPlus), ("xgradcam", XGradCAM),
                        ("hirescam", HiResCAM), ("layercam", LayerCAM), ("scorecam", ScoreCAM)):
        with method(model=model, target_layers=[model.target()]) as cam:
            out[key] = cam(input_tensor=x, targets=targets)
    # Signed attributions in the input's shape, summed over channels.
    signed = {
        "deconvnet": lambda: Deconvolution(model).attribute(x.clone(), target=classes),
        "guided_backprop": lambda: GuidedBackprop(model).attribute(x.clone(), target=classes),
        "guided_gradcam": lambda: GuidedGradCam(model, model.target()).attribute(x.clone(), target=classes),
        "integrated_gradients": lambda: IntegratedGradients(model).attribute(x.clone(), target=classes,
                                                                              n_steps=settings["integrated_gradients_steps"]),
        "occlusion": lambda: Occlusion(model).attribute(
            x.clone(), target=classes, baselines=0,
            sliding_window_shapes=(x.shape[1], settings["occlusion_window"], settings["occlusion_window"]),
            strides=(x.shape[1], settings["occlusion_stride"], settings["occlusion_stride"])),
    }
    for key, attribute in signed.items():
        out[key] = attribute().detach().sum(1)
    return out


SIGNED_ABSOLUTE = ("saliency", "cam_raw", "logits", "deconvnet", "guided_backprop", "guided_gradcam", "integrated_gradients", "occlusion")


def tolerance(key):
    return (1e-4, True) if key in SIGNED_ABSOLUTE else (2e-3, False)


def main():
    def extra(p):
        p.add_argument("--init", type=int, metavar="SEED", help="new random weights from SEED")
        p.add_argument("--extend", metavar="FILE", help="add the maps FILE lacks (same inputs, weights and classes) and write --out")
    a = common.arguments(__doc__, "explain/explain.json", extra)
    if a.extend:
        file = json.load(open(a.extend))
        directory = os.path.dirname(os.path.abspath(a.extend))
        x = torch.tensor(file["inputs"], dtype=torch.float32)
        file["settings"] = {**SETTINGS, **file.get("settings", {})}
        for g in file["models"]:
            model = load(g["model"], os.path.join(directory, g["weights"]))
            for c in g["cases"]:
                for key, value in maps(model, x, c["classes"], file["settings"]).items():
                    if key not in c:
                        c[key] = common.tolist(torch.as_tensor(np.asarray(value, dtype=np.float64)), 8)
        common.write(file, a.out)
        return
    if a.recompute:
        file = json.load(open(a.recompute))
        directory = os.path.dirname(os.path.abspath(a.recompute))
        x = torch.tensor(file["inputs"], dtype=torch.float32)
        problems, cases = [], 0
        for g in file["models"]:
            model = load(g["model"], os.path.join(directory, g["weights"]))
            with torch.no_grad():
                logits = model(x)
            bound = 1e-4 * max(1.0, abs(np.array(g["logits"])).max())
            common.close(logits.tolist(), g["logits"], f"{g['model']} logits", problems, tolerance=bound)
            for c in g["cases"]:
                got = maps(model, x, c["classes"], {**SETTINGS, **file.get("settings", {})})
                for key, value in got.items():
                    if key not in c:
                        continue
                    t, relative = tolerance(key)
                    want = np.array(c[key])
                    error = np.abs(np.asarray(value, dtype=np.float64) - want).max()
                    if error > t * (max(1.0, np.abs(want).max()) if relative else 1):
                        problems.append(f"{g['model']} {c['targets']} {key}: max error {error}")
                    cases += 1
        common.report(problems, cases, a.recompute)
    seed = 3 if a.seed is None else a.seed
    rng = random.Random(seed)
    out_dir = os.path.dirname(os.path.abspath(a.out))
    indices = rng.sample(range(10000), 6)
    x = test_images(indices)
    models = []
    for name in ("cnn", "resnet32"):
        weights = os.path.join(out_dir, f"{name}.safetensors")
        if a.init is not None:
            random_weights(name, a.init, weights)
        model = load(name, weights)
        with torch.no_grad():
            logits = model(x)
        predicted = logits.argmax(1).tolist()
        other = [rng.choice([c for c in range(10) if c != p]) for p in predicted]
        cases = []
        for targets, classes in (("predicted", predicted), ("other", other)):
            m = maps(model, x, classes)
            cases.append({"targets": targets, "classes": classes, **{k: common.tolist(torch.as_tensor(np.asarray(v, dtype=np.float64)), 8) for k, v in m.items()}})
        models.append({"model": name, "weights": f"{name}.safetensors", "logits": common.tolist(logits, 8),
                       "target_layer": TARGET_LAYER[name], "cases": cases})
    import captum
    import pytorch_grad_cam
    common.write({"generator": f"PyTorch {torch.__version__}, captum {captum.__version__}, pytorch-grad-cam {getattr(pytorch_grad_cam, '__version__', '1.5.7')}",
                  "seed": seed, "settings": SETTINGS, "normalisation": {"mean": MEAN, "std": STD}, "test_indices": indices,
                  "inputs": common.tolist(x, 8), "models": models}, a.out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Expected data-parallel efficiency from measured figures (docs/scaling.md).

usage: scaling_model.py BENCH.json NETWORK=ALLREDUCE.json [NETWORK=ALLREDUCE.json ...]

BENCH.json: `ddp-train bench --json --threads 1` of one process (per model: ms per step of a
128-sample batch, parameters from the FLOP counts' model). ALLREDUCE.json: `mpirun -n 2
ddp-train bench --allreduce --json` over one network: the fit t = a + bytes / beta of a
2-rank ring, so one hop's latency is a / 2 and beta the link's bandwidth.

Model (ring all-reduce of S gradient bytes in buckets, W ranks):
  T_ar(S) = n_buckets * 2 (W - 1) * alpha + 2 (W - 1) / W * S / beta
  blocking: exposed = T_ar(S); overlap: the buckets go out during backward (2/3 of the step),
  all but the last one: exposed = max(T_ar(S) - T_backward, T_ar(last bucket)).
Strong scaling keeps the global batch (128; each rank computes T_step / W); weak scaling keeps
128 samples per rank. Efficiency = compute / (compute + exposed)."""
import json, math, sys

PARAMETERS = {"mlp": 535_818, "cnn": 93_962, "resnet32": 463_866}  # 1x28x28, 10 classes (docs/models.md)
FIRST_BUCKET, BUCKET = 1 << 20, 25 << 20  # --bucket-first-mib 1, --bucket-mib 25

def buckets(s):
    return 1 if s <= FIRST_BUCKET else 1 + math.ceil((s - FIRST_BUCKET) / BUCKET)

def t_ar(s, w, alpha, beta, n):
    return n * 2 * (w - 1) * alpha + 2 * (w - 1) / w * s / beta if w > 1 else 0.0

def exposed(s, w, alpha, beta, backward, overlap):
    n = buckets(s)
    total = t_ar(s, w, alpha, beta, n)
    if not overlap:
        return total
    last = min(s, FIRST_BUCKET)
    return max(total - backward, t_ar(last, w, alpha, beta, 1))

bench = json.load(open(sys.argv[1]))
steps = {m["model"]: m["step_ms"] / 1e3 for m in bench["models"]}
networks = []
for arg in sys.argv[2:]:
    name, path = arg.split("=", 1)
    r = json.load(open(path))
    networks.append((name, r["latency_microseconds"] / 2e6, r["bandwidth_gigabytes_per_second"] * 1e9))

worlds = [2, 4, 8, 16, 32, 64, 128, 256, 512]
for name, alpha, beta in networks:
    print(f"\n### {name}: hop latency {alpha * 1e6:.1f} us, bandwidth {beta / 1e9:.2f} GB/s\n")
    print("| model | gradient MB | step ms (128 samples) | scaling | mode | " + " | ".join(f"W={w}" for w in worlds) + " |")
    print("|---|---|---|---|---|" + "---|" * len(worlds))
    for model, step in steps.items():
        s = 4 * PARAMETERS[model]
        for scaling in ("strong (global 128)", "weak (128 per rank)"):
            for overlap in (False, True):
                cells = []
                for w in worlds:
                    compute = step / w if scaling.startswith("strong") else step
                    e = exposed(s, w, alpha, beta, compute * 2 / 3, overlap)
                    cells.append(f"{100 * compute / (compute + e):.0f}%")
                print(f"| {model} | {s / 1e6:.2f} | {1e3 * step:.1f} | {scaling} | {'overlap' if overlap else 'blocking'} | " + " | ".join(cells) + " |")

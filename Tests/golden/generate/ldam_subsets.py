"""ldam_subsets.json: LDAM-DRW's long-tailed CIFAR subsets (IMBALANCECIFAR10/100 in its
imbalance_cifar.py), drawn with NumPy's legacy RandomState, for labels made from a formula the
test computes too: label of sample i = (i * 7919 + i // 11) % K over N = per_class * K + extra
samples. Each case keeps the number of kept indices, the first and last ten (ascending) and a
64-bit FNV-style digest of all of them: h = ((h * 1099511628211) mod 2^64) xor index, from
h = 14695981039346656037.

    python ldam_subsets.py --out ../ldam_subsets.json
    python ldam_subsets.py --recompute ../ldam_subsets.json
"""
import argparse, json
import numpy as np


def labels(k, n):
    i = np.arange(n, dtype=np.int64)
    return (i * 7919 + i // 11) % k


def ldam_subset(targets, k, imb_type, imb_factor, rand_number):
    """LDAM-DRW's get_img_num_per_cls and gen_imbalanced_data, as its code does them."""
    np.random.seed(rand_number)
    img_max = len(targets) / k
    img_num_per_cls = []
    if imb_type == 'exp':
        for cls_idx in range(k):
            img_num_per_cls.append(int(img_max * (imb_factor ** (cls_idx / (k - 1.0)))))
    else:
        for _ in range(k // 2):
            img_num_per_cls.append(int(img_max))
        for _ in range(k // 2):
            img_num_per_cls.append(int(img_max * imb_factor))
    targets_np = np.array(targets, dtype=np.int64)
    kept = []
    for the_class, the_img_num in zip(np.unique(targets_np), img_num_per_cls):
        idx = np.where(targets_np == the_class)[0]
        np.random.shuffle(idx)
        kept.extend(idx[:the_img_num].tolist())
    return sorted(kept)


def digest(indices):
    h = 14695981039346656037
    for i in indices:
        h = ((h * 1099511628211) & 0xFFFFFFFFFFFFFFFF) ^ i
    return f"{h:016x}"


def case(seed, ratio, k, profile, per_class, extra):
    kept = ldam_subset(labels(k, per_class * k + extra), k, profile, 1 / ratio, seed)
    return {"seed": seed, "ratio": ratio, "classes": k, "profile": profile, "samples": per_class * k + extra,
            "count": len(kept), "first": kept[:10], "last": kept[-10:], "digest": digest(kept)}


def cases():
    out = []
    for k, per_class, extra in [(10, 250, 7), (100, 210, 0)]:
        for ratio in [10, 50, 100, 200]:
            for profile in ["exp", "step"]:
                for seed in [0, 1, 12345]:
                    out.append(case(seed, ratio, k, profile, per_class, extra))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--out")
    p.add_argument("--recompute")
    a = p.parse_args()
    if a.recompute:
        old = json.load(open(a.recompute))["cases"]
        new = [case(c["seed"], c["ratio"], c["classes"], c["profile"], c["samples"] // c["classes"],
                    c["samples"] % c["classes"]) for c in old]
        bad = sum(o != n for o, n in zip(old, new))
        print(f"{len(old)} cases, {bad} differing (numpy {np.__version__})")
    else:
        with open(a.out, "w") as f:
            json.dump({"generator": "ldam_subsets.py", "numpy": np.__version__, "cases": cases()}, f, indent=1)
            f.write("\n")

#!/usr/bin/env bash
# The losses side by side on one recipe, over several seeds: a markdown table of the final
# test accuracy, balanced accuracy, few-class accuracy and retrieval precision@1 (mean and
# standard deviation over the seeds).
#
#   bash benchmarks/loss-table.sh [SPEC ...]
#
# Each SPEC is one run's options in one argument ("--loss ce --metric-loss center"); without
# SPECs, every loss of docs/losses.md. Environment: SEEDS (default "0 1 2"), RANKS (default 1;
# more runs under mpirun), COMMON (options for every run, default: the default job, 30 epochs
# of mlp on Fashion-MNIST-LT ratio 100), OUT (run directories, default runs/loss-table).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${DDP_TRAIN_BIN:-$PWD/.build/release/ddp-train}"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
SEEDS=${SEEDS:-"0 1 2"}
RANKS=${RANKS:-1}
COMMON=${COMMON:-"--model mlp --epochs 30 --imbalance-ratio 100"}
OUT=${OUT:-runs/loss-table}
if [ $# -eq 0 ]; then
  set -- "--loss ce" "--loss ib" "--loss ib-focal" "--loss focal" "--loss crl" \
    "--loss arcface" "--loss cosface" "--loss sphereface" "--loss subcenter-arcface" \
    "--loss ce --metric-loss center" "--loss ce --metric-loss contrastive" "--loss ce --metric-loss triplet" \
    "--recipe ldam-drw" "--loss balanced-softmax" "--loss logit-adjusted" "--loss vs" "--loss ce --posthoc-tau 1"
fi
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

launch() {
  if [ "$RANKS" -gt 1 ]; then mpirun -n "$RANKS" --oversubscribe --bind-to none "$BIN" "$@"; else "$BIN" "$@"; fi
}

dirs=()
for spec in "$@"; do
  name=$(echo "$spec" | sed 's/--//g; s/ /_/g')
  for seed in $SEEDS; do
    dir="$OUT/$name/seed-$seed"
    if [ ! -f "$dir/metrics.jsonl" ] || ! grep -q '"event":"done"' "$dir/metrics.jsonl"; then
      rm -rf "$dir"
      mkdir -p "$(dirname "$dir")"
      echo "== $spec, seed $seed" >&2
      # shellcheck disable=SC2086  # COMMON and spec are lists of options
      launch train $COMMON $spec --seed "$seed" --run-dir "$dir" > "$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
    fi
    dirs+=("$spec|$dir")
  done
done

python3 - "${dirs[@]}" <<'PY'
import json, statistics, sys
runs = {}
for arg in sys.argv[1:]:
    spec, path = arg.split("|", 1)
    done = [json.loads(l) for l in open(path + "/metrics.jsonl") if '"done"' in l][-1]
    runs.setdefault(spec, []).append(done)
def cell(values):
    values = [100 * v for v in values if v is not None]
    if not values: return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0
    return f"{statistics.mean(values):.2f} ± {sd:.2f}"
print("| options | seeds | test acc % | balanced % | many % | medium % | few % | P@1 % | few P@1 % |")
print("|---|---|---|---|---|---|---|---|---|")
for spec, done in runs.items():
    def few_p1(d):
        p, counts = d.get("precision_at_1_per_class"), d["class_counts"]
        if p is None: return None
        order = sorted(range(len(counts)), key=lambda k: (-counts[k], k))  # as the program's few classes
        few = order[len(order) - int(0.3 * len(order) + 0.5):]
        return sum(p[k] for k in few) / len(few)
    print(f"| `{spec}` | {len(done)} | {cell([d['test_acc'] for d in done])} | {cell([d['balanced_acc'] for d in done])} | "
          f"{cell([d['many'] for d in done])} | {cell([d['medium'] for d in done])} | {cell([d['few'] for d in done])} | "
          f"{cell([d.get('precision_at_1') for d in done])} | "
          f"{cell([few_p1(d) for d in done])} |")
    for suffix, what in (("_posthoc", "post-hoc adjusted"), ("_taunorm", "tau-normalised")):
        # The same models' post-hoc predictions (--posthoc-tau, --tau-norm).
        if all("test_acc" + suffix in d for d in done):
            print(f"| `{spec}`, {what} | {len(done)} | {cell([d['test_acc' + suffix] for d in done])} | "
                  f"{cell([d['balanced_acc' + suffix] for d in done])} | {cell([d['many' + suffix] for d in done])} | "
                  f"{cell([d['medium' + suffix] for d in done])} | {cell([d['few' + suffix] for d in done])} | - | - |")
PY

#!/usr/bin/env bash
# Runs side by side: every run writes metrics.csv and a TensorBoard event file (rank 0) whose
# records and scalars match metrics.jsonl; `compare` on five runs of different losses writes
# one page and its --json table equals the runs' final metrics; runs on other data are refused.
source "$(dirname "$0")/common.bash"

python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/data" 0 3000 500
common=(--data "$TMP/data" --model mlp --epochs 3 --batch-size 64 --threads 1 --checkpoint-every 0 --no-report-explanations)
losses=(ce ib focal ldam balanced-softmax)
for loss in "${losses[@]}"; do
  run 2 "${common[@]}" --loss "$loss" --run-dir "$TMP/runs/$loss" > "$TMP/$loss.log" 2>&1 || { cat "$TMP/$loss.log"; fail "$loss run"; }
done
run 1 "${common[@]}" --loss ce --epochs 1 --no-tensorboard --posthoc-tau 1 --run-dir "$TMP/quiet" > /dev/null 2>&1 || fail "--no-tensorboard run"
[ ! -e "$TMP/quiet/tensorboard" ] || fail "--no-tensorboard wrote an event file"

# The event file: TFRecord framing with masked CRC-32C, Event and Summary protocol buffers,
# decoded here without TensorBoard; every scalar of metrics.jsonl at every epoch.
python3 - "$TMP/runs/ib" "$TMP/quiet" <<'PY' || fail "event file or metrics.csv"
import csv, glob, json, os, struct, sys
def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF
def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
def fields(buf):
    i, out = 0, []
    while i < len(buf):
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0: v, i = varint(buf, i)
        elif wire == 1: v, i = buf[i:i + 8], i + 8
        elif wire == 5: v, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = varint(buf, i); v, i = buf[i:i + n], i + n
        else: raise ValueError("wire type %d" % wire)
        out.append((field, v))
    return out
def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]; i += 1
        value |= (b & 0x7F) << shift; shift += 7
        if b < 0x80: return value, i
run = sys.argv[1]
files = glob.glob(run + "/tensorboard/events.out.tfevents.*")
assert len(files) == 1, files
raw = open(files[0], "rb").read()
events, i = [], 0
while i < len(raw):
    header = raw[i:i + 8]
    n = struct.unpack("<Q", header)[0]
    assert struct.unpack("<I", raw[i + 8:i + 12])[0] == masked(header), "length CRC"
    data = raw[i + 12:i + 12 + n]
    assert struct.unpack("<I", raw[i + 12 + n:i + 16 + n])[0] == masked(data), "data CRC"
    events.append(dict((f, v) for f, v in fields(data)))
    i += 16 + n
assert events[0][3] == b"brain.Event:2", events[0]
epochs = [json.loads(l) for l in open(run + "/metrics.jsonl") if '"epoch"' in l and '"done"' not in l]
epochs = [e for e in epochs if e["event"] == "epoch"]
assert len(events) == 1 + len(epochs), (len(events), len(epochs))
for e, m in zip(events[1:], epochs):
    assert e[2] == m["epoch"] + 1
    values = {}
    for f, v in fields(e[5]):
        value = dict(fields(v))
        values[value[1].decode()] = struct.unpack("<f", value[2])[0]
    expected = {"train_loss": m["train_loss"], "lr": m["lr"], "test_acc": m["test_acc"], "balanced_acc": m["balanced_acc"],
                "many": m["many"], "medium": m["medium"], "few": m["few"], "omega": m["omega"], "samples_per_s": m["samples_per_s"],
                "exposed_comm_seconds": m["exposed_comm_seconds"], "precision_at_1": m["precision_at_1"],
                "r_precision": m["r_precision"], "map_at_r": m["map_at_r"]}
    expected.update({"per_class/%d" % k: v for k, v in enumerate(m["per_class_acc"])})
    expected.update({"class_weight/%d" % k: v for k, v in enumerate(m["class_weights"])})
    for tag, want in expected.items():
        got = values[tag]
        assert abs(got - want) <= 1e-6 * max(1, abs(want)), (tag, got, want)
# metrics.csv: one row per epoch, the scalar columns of metrics.jsonl.
rows = list(csv.DictReader(open(run + "/metrics.csv")))
assert len(rows) == len(epochs)
for r, m in zip(rows, epochs):
    assert int(r["epoch"]) == m["epoch"] + 1 and r["loss_phase"] == m["loss_phase"]
    for key in ("lr", "train_loss", "test_acc", "balanced_acc", "many", "medium", "few", "precision_at_1", "exposed_comm_seconds"):
        assert float(r[key]) == m[key], (key, r[key], m[key])
quiet = list(csv.DictReader(open(sys.argv[2] + "/metrics.csv")))
m = [json.loads(l) for l in open(sys.argv[2] + "/metrics.jsonl")][0]
assert float(quiet[0]["test_acc_posthoc"]) == m["test_acc_posthoc"] and float(quiet[0]["few_posthoc"]) == m["few_posthoc"]
print("%d events, %d scalars per epoch" % (len(events), len(values)))
PY
pass "the event file (masked CRC-32C records, Event/Summary protocol buffers) and metrics.csv hold metrics.jsonl's scalars at every epoch"

# The real TensorBoard reader, when it is installed.
if python3 -c "import tensorboard" 2> /dev/null; then
  python3 - "$TMP/runs" <<'PY' || fail "TensorBoard's reader"
import json, sys
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
mux = EventMultiplexer()
mux.AddRunsFromDirectory(sys.argv[1])
mux.Reload()
runs = mux.Runs()
assert len(runs) == 5, runs
for run in runs:
    tags = mux.GetAccumulator(run).Tags()["scalars"]
    for tag in ("train_loss", "lr", "test_acc", "balanced_acc", "many", "medium", "few", "per_class/3", "precision_at_1",
                "samples_per_s", "exposed_comm_seconds", "class_weight/9", "omega"):
        assert tag in tags, (run, tag)
        assert [e.step for e in mux.Scalars(run, tag)] == [1, 2, 3], (run, tag)
PY
  pass "TensorBoard's own reader loads the 5 runs with every scalar at epochs 1, 2, 3"
else
  echo "skip: the tensorboard Python package is not installed (pip install tensorboard); the event files were checked by the decoder above"
fi

# compare: the page, and its table equal to the runs' final metrics.
"$BIN" compare "${losses[@]/#/$TMP/runs/}" --out "$TMP/compare.html" > "$TMP/compare.log" || { cat "$TMP/compare.log"; fail "compare"; }
grep -q "wrote $TMP/compare.html: 5 runs, differing in --loss" "$TMP/compare.log" || { cat "$TMP/compare.log"; fail "compare's summary line"; }
for loss in "${losses[@]}"; do grep -q ">$loss</td>" "$TMP/compare.html" || fail "the page has no row for $loss"; done
[ "$(grep -c "<svg" "$TMP/compare.html")" -eq 4 ] || fail "expected 4 charts (balanced, few, per class, differences)"
"$BIN" compare "${losses[@]/#/$TMP/runs/}" --json > "$TMP/compare.json" || fail "compare --json"
python3 - "$TMP/compare.json" "$TMP/runs" <<'PY' || fail "compare's table differs from the runs' metrics"
import json, sys
table = json.load(open(sys.argv[1]))
assert [r["run"] for r in table] == ["ce", "ib", "focal", "ldam", "balanced-softmax"], [r["run"] for r in table]
for r in table:
    done = [json.loads(l) for l in open("%s/%s/metrics.jsonl" % (sys.argv[2], r["run"]))][-1]
    assert done["event"] == "done"
    for key in ("test_acc", "balanced_acc", "many", "medium", "few", "precision_at_1", "per_class_acc"):
        assert r[key] == done[key], (r["run"], key, r[key], done[key])
    assert r["options"]["loss"] == r["run"], r["options"]
    assert r["epochs"] == 3
PY
pass "compare: a page of 5 runs (table, curves, per-class bars, differences) and --json equal to their metrics.jsonl"

# Runs on other data are refused with the reason.
run 1 "${common[@]}" --loss ce --epochs 1 --imbalance-ratio 10 --run-dir "$TMP/other" > /dev/null 2>&1 || fail "ratio 10 run"
if "$BIN" compare "$TMP/runs/ce" "$TMP/other" --out "$TMP/refused.html" 2> "$TMP/refused.log"; then fail "compare accepted runs on other data"; fi
grep -q "trained on different data (--imbalance-ratio 100.0 vs 10.0)" "$TMP/refused.log" || { cat "$TMP/refused.log"; fail "no reason for refusing"; }
[ ! -e "$TMP/refused.html" ] || fail "a refused compare wrote its page"
if "$BIN" compare "$TMP/nowhere" 2> "$TMP/missing.log"; then fail "compare accepted a missing run"; fi
grep -q "nowhere/config.json: cannot read" "$TMP/missing.log" || { cat "$TMP/missing.log"; fail "no message for a missing run"; }
pass "compare refuses runs on other data (the differing option named) and a directory that is not a run"

# Seeds side by side: runs that differ only in --seed form one row per model (best by validation,
# last) of `compare --table`, whose means and standard deviations are the runs' own figures'.
for loss in ce ib; do
  for seed in 0 1 2; do
    run 1 "${common[@]}" --epochs 2 --loss "$loss" --seed "$seed" --val-split 0.1 --no-tensorboard --retrieval-every 0 \
      --run-dir "$TMP/seeds/$loss-$seed" > "$TMP/seeds-$loss-$seed.log" 2>&1 || { cat "$TMP/seeds-$loss-$seed.log"; fail "$loss seed $seed"; }
  done
done
seeds=("$TMP"/seeds/ce-{0,1,2} "$TMP"/seeds/ib-{0,1,2})
for format in md csv latex; do
  "$BIN" compare "${seeds[@]}" --table "$format" > "$TMP/table.$format" || fail "compare --table $format"
done
python3 - "$TMP/table.csv" "$TMP/seeds" <<'PY' || { cat "$TMP/table.csv"; fail "compare --table's figures are not the runs' means and deviations"; }
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
# The label: the options apart from the seed (the loss always; ib's resolved start epoch too).
assert [(r["method"].split()[:2], r["model"], r["n"]) for r in rows] == [
    (["--loss", "ce"], "best", "3"), (["--loss", "ce"], "last", "3"), (["--loss", "ib"], "best", "3"),
    (["--loss", "ib"], "last", "3")], rows
for r in rows:
    loss = r["method"].split()[1]
    picked = []
    for seed in range(3):
        lines = [json.loads(l) for l in open(f"{sys.argv[2]}/{loss}-{seed}/metrics.jsonl")]
        epochs = [l for l in lines if l["event"] == "epoch"]
        best = max(epochs, key=lambda l: (l["val_balanced_acc"], -l["epoch"]))
        picked.append(best if r["model"] == "best" else lines[-1])
    for key in ("test_acc", "many", "medium", "few", "balanced_acc", "top5_acc", "ece", "many_shot", "few_shot"):
        values = [100 * p[key] for p in picked]
        assert abs(float(r[key + "_mean"]) - statistics.mean(values)) < 1e-4, (r, key)
        assert abs(float(r[key + "_sd"]) - statistics.stdev(values)) < 1e-4, (r, key)
PY
[ "$(grep -c ' ± ' "$TMP/table.md")" = 4 ] && [ "$(grep -c '\\pm' "$TMP/table.latex")" = 4 ] \
  && grep -q '^\\begin{tabular}' "$TMP/table.latex" || { cat "$TMP/table.md" "$TMP/table.latex"; fail "the md or LaTeX table"; }
"$BIN" compare "${seeds[@]}" --out "$TMP/seeds.html" > /dev/null || fail "compare of seeded runs"
grep -q "Over seeds: mean ± standard deviation" "$TMP/seeds.html" || fail "the page has no table over seeds"
pass "compare --table md|csv|latex: runs differing only in --seed as one row each for the best-by-validation and the last model, mean ± sd of the runs' figures"

#!/usr/bin/env bash
# The command line: the default command trains with no options and writes the
# run directory; --config (JSON and TOML) reaches config.json with the command
# line overriding it; invalid values are refused with the valid ones listed;
# verify-losses ends with "N passed, M failed"; report, inspect, export, eval.
source "$(dirname "$0")/common.bash"

# 1. No options at all: the default job (30 epochs of mlp + IB on long-tailed Fashion-MNIST), 2 ranks.
(cd "$TMP" && run 2 > "$TMP/default.log" 2>&1) || { cat "$TMP/default.log"; fail "the default command"; }
rundir=$(ls -d "$TMP"/runs/*/ | head -1)
for f in metrics.jsonl config.json report.html final.safetensors; do [ -s "$rundir/$f" ] || fail "default run lacks $f"; done
grep -q "<svg" "$rundir/report.html" || fail "report.html has no SVG"
[ "$(grep -c '"event":"epoch"' "$rundir/metrics.jsonl")" -eq 30 ] || fail "the default run did not train 30 epochs"
grep -q '"event":"done"' "$rundir/metrics.jsonl" || fail "no done line"
grep -q "^done: test accuracy" "$TMP/default.log" || fail "no final summary"
[ "$(grep -c "^done: test accuracy" "$TMP/default.log")" -eq 1 ] || fail "the summary came from more than one rank"
python3 - "$rundir/metrics.jsonl" <<'PY' || fail "metrics lines lack keys"
import json, sys
keys = {"event", "epoch", "step", "lr", "train_loss", "test_acc", "balanced_acc", "many", "medium", "few", "per_class_acc",
        "class_counts", "class_weights", "omega", "samples_per_s", "epoch_seconds", "skipped_steps"}
for line in open(sys.argv[1]):
    missing = keys - json.loads(line).keys()
    assert not missing, missing
PY
pass "the default command trains with no options: metrics.jsonl, config.json, report.html (SVG), final.safetensors"

# 2. Config files: JSON and TOML values reach config.json; the command line overrides the file.
printf '{"epochs": 1, "lr": 0.02, "focal-gamma": 2.5, "model": "mlp", "augment": false, "nesterov": true, "bucket-mode": "overlap", "max-steps": 3}\n' > "$TMP/c.json"
run 1 --config "$TMP/c.json" --lr 0.03 --run-dir "$TMP/cj" > /dev/null 2>&1 || fail "--config JSON"
python3 - "$TMP/cj/config.json" <<'PY' || fail "JSON config values not in config.json"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["epochs"] == 1 and c["focal-gamma"] == 2.5 and c["max-steps"] == 3, c
assert c["lr"] == 0.03, c["lr"]  # the command line wins
assert c["nesterov"] is True and c["augment"] is False and c["bucket-mode"] == "overlap", c  # flags both ways
PY
printf 'epochs = 1\nmax-steps = 2\nimbalance-ratio = 10\nloss = "focal"\nlr-milestones = [1, 2]\n' > "$TMP/c.toml"
run 1 --config "$TMP/c.toml" --run-dir "$TMP/ct" > /dev/null 2>&1 || fail "--config TOML"
python3 - "$TMP/ct/config.json" <<'PY' || fail "TOML config values not in config.json"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["imbalance-ratio"] == 10 and c["loss"] == "focal" and c["lr-milestones"] == [1, 2], c
PY
printf '{"epochz": 1}\n' > "$TMP/bad.json"
if "$BIN" --config "$TMP/bad.json" > "$TMP/badcfg.log" 2>&1; then fail "unknown config key accepted"; fi
grep -q "unknown key 'epochz'" "$TMP/badcfg.log" || { cat "$TMP/badcfg.log"; fail "no message for an unknown key"; }
# A bad value is reported with the file it came from (and the range check of the option).
printf '{"lr": 0.1, "epochs": "ten"}\n' > "$TMP/badvalue.json"
printf 'epochs = -3\n' > "$TMP/badrange.toml"
for f in "$TMP/badvalue.json" "$TMP/badrange.toml"; do
  if "$BIN" --config "$f" > "$TMP/badcfg.log" 2>&1; then fail "a bad value in $f accepted"; fi
  grep -q -- "--config $f: --epochs" "$TMP/badcfg.log" || { cat "$TMP/badcfg.log"; fail "the message for a bad value does not name $f"; }
done
pass "--config JSON and TOML reach config.json; the command line overrides; unknown keys and bad values refused, naming the file"

# --profile: a line per epoch and a "profile" object in its metrics line whose phases add up
# to the epoch (other_s is what no phase holds).
run 2 --epochs 2 --profile --run-dir "$TMP/prof" > "$TMP/prof.log" 2>&1 || { cat "$TMP/prof.log"; fail "--profile"; }
[ "$(grep -c '^profile: steps ' "$TMP/prof.log")" = 2 ] || { cat "$TMP/prof.log"; fail "--profile prints no line per epoch"; }
python3 - "$TMP/prof/metrics.jsonl" <<'PY' || fail "--profile: metrics.jsonl lacks a consistent profile"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
epochs = [l for l in lines if l["event"] == "epoch"]
assert len(epochs) == 2, len(epochs)
for l in epochs:
    p = l["profile"]
    phases = ["steps_s", "evaluation_s", "retrieval_s", "clusters_s", "checkpoint_s", "logging_s", "other_s"]
    assert all(p[k] >= 0 for k in phases), p
    assert abs(sum(p[k] for k in phases) - p["epoch_s"]) < 1e-6 * max(1, p["epoch_s"]) + 1e-9, p
    assert p["steps_s"] > 0 and p["evaluation_s"] > 0 and p["retrieval_s"] > 0, p
assert "profile" not in [l for l in lines if l["event"] == "done"][0]
PY
run 1 --epochs 1 --max-steps 2 --run-dir "$TMP/noprof" > /dev/null 2>&1 || fail "a run without --profile"
! grep -q '"profile"' "$TMP/noprof/metrics.jsonl" || fail "metrics.jsonl has a profile without --profile"
pass "--profile: a line per epoch; metrics.jsonl's phases add up to the epoch; none without it"

# 3. Invalid values are refused before any work, listing the valid ones.
if "$BIN" --loss nonsense > "$TMP/loss.log" 2>&1; then fail "--loss nonsense accepted"; fi
grep -q "expected one of ce, focal, ib, ib-focal, crl, arcface, cosface, sphereface, subcenter-arcface, ldam, balanced-softmax, logit-adjusted, vs, got 'nonsense'" "$TMP/loss.log" || { cat "$TMP/loss.log"; fail "the valid losses are not listed"; }
if "$BIN" --recipe nope > "$TMP/recipe.log" 2>&1; then fail "unknown recipe accepted"; fi
grep -q "fmnist-lt-mlp" "$TMP/recipe.log" || fail "the valid recipes are not listed"
if run 2 --momentum 1.5 > "$TMP/momentum.log" 2>&1; then fail "--momentum 1.5 accepted"; fi
grep -q "momentum" "$TMP/momentum.log" || fail "no message for --momentum"
"$BIN" train --help > "$TMP/help.txt"
"$BIN" --help > "$TMP/top-help.txt"
grep -q -- "--imbalance-ratio <imbalance-ratio>" "$TMP/help.txt" || fail "--help does not list the options"
grep -q "default: 100" "$TMP/help.txt" || fail "--help does not show defaults"
grep -q "ddp-train train --help" "$TMP/top-help.txt" || fail "the top-level help does not point at the training options"
pass "invalid values and combinations refused with the valid values listed; --help lists options and defaults"

# 4. verify-losses: every golden case passes; a damaged file fails with the case named.
"$BIN" verify-losses Tests/golden/losses.json > "$TMP/verify.log" || { cat "$TMP/verify.log"; fail "verify-losses on the golden file"; }
grep -qE "^[0-9]+ passed, 0 failed$" "$TMP/verify.log" || fail "verify-losses summary line"
"$BIN" verify-losses Tests/golden/metric_losses.json > "$TMP/verify-metric.log" || { cat "$TMP/verify-metric.log"; fail "verify-losses on the metric-learning golden file"; }
grep -qE "^48 passed, 0 failed$" "$TMP/verify-metric.log" || fail "verify-losses on metric_losses.json: $(tail -1 "$TMP/verify-metric.log")"
python3 -c "
import json, sys
d = json.load(open('Tests/golden/losses.json'))
d['losses'][5]['expected']['loss'] += 0.1
json.dump(d, open(sys.argv[1], 'w'))" "$TMP/broken.json"
if "$BIN" verify-losses "$TMP/broken.json" > "$TMP/broken.log"; then fail "verify-losses passed a wrong case"; fi
grep -q "^losses\[5\]" "$TMP/broken.log" && grep -qE "^[0-9]+ passed, 1 failed$" "$TMP/broken.log" || { cat "$TMP/broken.log"; fail "the failing case is not named"; }
pass "verify-losses: $(tail -1 "$TMP/verify.log"); a wrong case is named and exits 1"

# The long-tail family (LDAM, balanced softmax, logit adjustment, VS) and post-hoc adjustment.
"$BIN" verify-losses Tests/golden/longtail_losses.json > "$TMP/verify-lt.log" || { cat "$TMP/verify-lt.log"; fail "verify-losses on longtail_losses.json"; }
grep -qE "^54 passed, 0 failed$" "$TMP/verify-lt.log" || fail "verify-losses on longtail_losses.json: $(tail -1 "$TMP/verify-lt.log")"
python3 -c "
import json, sys
d = json.load(open('Tests/golden/longtail_losses.json'))
d['losses'][13]['expected']['dlogits'][2][1] += 0.01
d['posthoc_logit_adjustment'][1]['expected'][0][9] -= 0.01
json.dump(d, open(sys.argv[1], 'w'))" "$TMP/broken-lt.json"
if "$BIN" verify-losses "$TMP/broken-lt.json" > "$TMP/broken-lt.log"; then fail "verify-losses passed a wrong long-tail case"; fi
grep -q "^losses\[13\] .*dlogits" "$TMP/broken-lt.log" && grep -q "^posthoc_logit_adjustment\[1\]" "$TMP/broken-lt.log" \
  && grep -qE "^52 passed, 2 failed$" "$TMP/broken-lt.log" || { cat "$TMP/broken-lt.log"; fail "the failing long-tail cases are not named"; }
pass "verify-losses longtail_losses.json: $(tail -1 "$TMP/verify-lt.log"); damaged loss and post-hoc cases are named"

# Miners (pytorch-metric-learning's TripletMarginMiner types and BatchHardMiner) with the triplet loss.
"$BIN" verify-losses Tests/golden/miners.json > "$TMP/verify-miners.log" || { cat "$TMP/verify-miners.log"; fail "verify-losses on miners.json"; }
grep -qE "^40 passed, 0 failed$" "$TMP/verify-miners.log" || fail "verify-losses on miners.json: $(tail -1 "$TMP/verify-miners.log")"
python3 -c "
import json, sys
d = json.load(open('Tests/golden/miners.json'))
d['cases'][7]['mined_triplets'] += 1
d['cases'][24]['grad'][3][1] += 0.01
json.dump(d, open(sys.argv[1], 'w'))" "$TMP/broken-miners.json"
if "$BIN" verify-losses "$TMP/broken-miners.json" > "$TMP/broken-miners.log"; then fail "verify-losses passed a wrong miner case"; fi
grep -q "^cases\[7\] triplet (miner .*mined" "$TMP/broken-miners.log" && grep -q "^cases\[24\] .*dembeddings" "$TMP/broken-miners.log" \
  && grep -qE "^38 passed, 2 failed$" "$TMP/broken-miners.log" || { cat "$TMP/broken-miners.log"; fail "the failing miner cases are not named"; }
pass "verify-losses miners.json: $(tail -1 "$TMP/verify-miners.log"); a wrong count of mined triplets and a wrong gradient are named"

# 5. report, inspect, export, eval on the default run.
rm "$rundir/report.html"
"$BIN" report "$rundir" > /dev/null && grep -q "<svg" "$rundir/report.html" || fail "report did not regenerate report.html"
ckpt=$(ls "$rundir"/checkpoints/*.ckpt | tail -1)
"$BIN" inspect "$ckpt" > "$TMP/inspect.txt" && grep -q "fc1.weight" "$TMP/inspect.txt" || fail "inspect"
"$BIN" export "$ckpt" --format safetensors "$TMP/w.safetensors" > /dev/null || fail "export"
python3 Tests/mpi/safetensors_diff.py "$rundir/final.safetensors" "$TMP/w.safetensors" 0 > /dev/null || fail "export differs from final.safetensors"
run 2 eval "$ckpt" --json > "$TMP/eval.json" 2> /dev/null || fail "eval"
python3 - "$TMP/eval.json" "$rundir/metrics.jsonl" <<'PY' || fail "eval differs from the run's final metrics"
import json, sys
e = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
done = [json.loads(l) for l in open(sys.argv[2])][-1]
assert abs(e["test_acc"] - done["test_acc"]) < 1e-9, (e["test_acc"], done["test_acc"])
for key in ("precision_at_1", "r_precision", "map_at_r"):
    assert 0 < done[key] <= 1 and len(done[key + "_per_class"]) == len(done["per_class_acc"]), key
PY
pass "report regenerates; inspect, export (= final.safetensors) and eval (= final metrics) work"

# Retrieval of the same weights is the same on 1 and 3 ranks (each ranks its shard of queries).
# The ranks' evaluation batches differ, so features may differ in the last bits and flip a
# near tie: one flipped nearest neighbour moves precision@1 by 1e-4. A lost or doubled shard
# moves the figures by far more than the tolerance of 5 flips.
run 1 eval "$ckpt" --json > "$TMP/eval1.json" 2> /dev/null || fail "eval on 1 rank"
run 3 eval "$ckpt" --json > "$TMP/eval3.json" 2> /dev/null || fail "eval on 3 ranks"
python3 - "$TMP/eval1.json" "$TMP/eval3.json" "$TMP/eval.json" <<'PY' || fail "retrieval depends on the number of ranks"
import json, sys
a, b, c = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:])
for key in ("precision_at_1", "r_precision", "map_at_r"):
    assert abs(a[key] - b[key]) < 5e-4 and abs(a[key] - c[key]) < 5e-4, (key, a[key], b[key], c[key])
PY
pass "retrieval metrics: in metrics.jsonl with per-class lists; 1, 2 and 3 ranks give the same figures"

# --retrieval-every 2 over 3 epochs measures retrieval and clusters after epochs 2 and 3 (the
# last) only; the epoch lines without them have no P@1; 0 measures none, not even at the end.
run 2 --epochs 3 --batch-size 2000 --retrieval-every 2 --checkpoint-every 0 --threads 1 \
  --run-dir "$TMP/every2" > "$TMP/every2.log" 2>&1 || { cat "$TMP/every2.log"; fail "--retrieval-every 2"; }
run 2 --epochs 1 --max-steps 2 --retrieval-every 0 --checkpoint-every 0 --threads 1 \
  --run-dir "$TMP/every0" > "$TMP/every0.log" 2>&1 || { cat "$TMP/every0.log"; fail "--retrieval-every 0"; }
python3 - "$TMP/every2/metrics.jsonl" "$TMP/every0/metrics.jsonl" <<'PY' || fail "--retrieval-every"
import json, sys
two, zero = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
measured = [l["epoch"] for l in two if l["event"] == "epoch" and l.get("precision_at_1") is not None]
assert measured == [1, 2], measured
assert all((l.get("nmi") is not None) == (l["epoch"] in (1, 2)) for l in two if l["event"] == "epoch"), two
assert two[-1]["event"] == "done" and two[-1]["precision_at_1"] is not None
assert all(l.get("precision_at_1") is None and l.get("nmi") is None for l in zero), zero
assert all(l["test_acc"] > 0 for l in zero + two)
PY
[ "$(grep -c 'P@1' "$TMP/every2.log")" -eq 2 ] || fail "--retrieval-every 2: P@1 on other lines than the measured epochs'"
pass "--retrieval-every 2 measures retrieval and clusters after epochs 2 and 3 only; 0 never"

# Option values that make no sense are refused with the reason before anything starts: NaN and
# infinity, negative numbers (parsed, then refused by range), sizes no allocation could hold.
bad_values=("--lr -0.1:--lr must be a positive" "--lr nan:--lr must be a positive" "--lr inf:--lr must be a positive"
  "--momentum nan:--momentum must be in" "--focal-gamma nan:--focal-gamma" "--imbalance-ratio nan:--imbalance-ratio"
  "--bucket-mib nan:--bucket-mib" "--batch-size 99999999999:--batch-size must be in" "--batch-size 9223372036854775807:--batch-size must be in"
  "--classes 100000000000:--classes must be in" "--seed -1:--seed must not be negative" "--weight-decay -inf:--weight-decay")
for case in "${bad_values[@]}"; do
  option=${case%%:*} reason=${case#*:}
  # shellcheck disable=SC2086
  if "$BIN" $option --run-dir "$TMP/bad-value" > "$TMP/bad-value.log" 2>&1; then fail "$option accepted"; fi
  grep -qF -- "$reason" "$TMP/bad-value.log" || { cat "$TMP/bad-value.log"; fail "$option: no message saying '$reason'"; }
  [ ! -e "$TMP/bad-value" ] || fail "$option: a run directory was created"
done
pass "${#bad_values[@]} senseless option values refused with the reason, nothing written"

# --precision bf16: on AVX-512 (bfloat16 kernels native or emulated) rank 0 measures which passes of
# which convolutions run bfloat16, says so once, and config.json records the plan (--conv-precision);
# a resumed run keeps it without measuring; a plan forced by hand trains alike on 1 and 2 ranks, and
# otherwise than float32. Where oneDNN runs AVX2 it is refused at start on every rank with one
# message (exit 1), and --precision auto trains in float32; the mlp (no convolutions) is refused
# everywhere, before anything is written.
isa=$("$BIN" doctor --json | python3 -c "import json, sys; print(json.load(sys.stdin)['ranks'][0]['onednn_isa'])")
plan_of() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['conv-precision'])" "$1/config.json"; }
case $isa in avx512*)
  cnn=(--model cnn --epochs 1 --batch-size 120 --threads 1 --retrieval-every 0 --no-report-explanations --no-tensorboard)
  run 1 "${cnn[@]}" --precision bf16 --max-steps 2 --checkpoint-every-steps 1 --run-dir "$TMP/bf16" > "$TMP/bf16.log" 2>&1 \
    || { cat "$TMP/bf16.log"; fail "--precision bf16 ($isa)"; }
  [ "$(grep -c "^--precision bf16: measured 3 convolutions" "$TMP/bf16.log")" -eq 1 ] || { cat "$TMP/bf16.log"; fail "--precision bf16: no line saying what it measured and chose"; }
  plan=$(plan_of "$TMP/bf16")
  python3 -c "import sys; assert sys.argv[1] == 'none' or all(e.split(':')[0] in ('conv1', 'conv2', 'conv3') for e in sys.argv[1].split(',')), sys.argv[1]" "$plan" \
    || fail "config.json's conv-precision is not a plan of the cnn's convolutions: $plan"
  run 1 "${cnn[@]}" --precision bf16 --max-steps 4 --resume auto --run-dir "$TMP/bf16" > "$TMP/bf16-resume.log" 2>&1 \
    || { cat "$TMP/bf16-resume.log"; fail "--precision bf16 resumed"; }
  ! grep -q "measured" "$TMP/bf16-resume.log" || fail "the resumed run measured again instead of keeping its checkpoint's plan"
  [ "$(plan_of "$TMP/bf16")" = "$plan" ] || fail "the resumed run's plan $(plan_of "$TMP/bf16") is not the checkpoint's $plan"
  forced=conv1:bff,conv2:fbf,conv3:ffb
  for n in 1 2; do
    run $n "${cnn[@]}" --precision bf16 --conv-precision $forced --max-steps 4 --checkpoint-every 0 --run-dir "$TMP/forced-$n" \
      > "$TMP/forced-$n.log" 2>&1 || { cat "$TMP/forced-$n.log"; fail "--conv-precision $forced on $n ranks"; }
  done
  ! grep -q "measured" "$TMP/forced-1.log" || fail "--conv-precision given: measured anyway"
  [ "$(plan_of "$TMP/forced-2")" = "$forced" ] || fail "config.json does not record the --conv-precision given"
  run 1 "${cnn[@]}" --max-steps 4 --checkpoint-every 0 --run-dir "$TMP/forced-fp32" > /dev/null 2>&1 || fail "the cnn in float32"
  python3 Tests/mpi/safetensors_diff.py "$TMP/forced-1/final.safetensors" "$TMP/forced-2/final.safetensors" 1e-2 > /dev/null \
    || fail "--conv-precision $forced: 1 and 2 ranks differ beyond bfloat16's rounding"
  ! python3 Tests/mpi/safetensors_diff.py "$TMP/forced-1/final.safetensors" "$TMP/forced-fp32/final.safetensors" 1e-6 > /dev/null \
    || fail "--conv-precision $forced trains as float32 does"
  pass "--precision bf16 ($isa): measured once on rank 0 ($plan), kept on resume; a forced plan trains alike on 1 and 2 ranks"
  ;;
esac
if ONEDNN_MAX_CPU_ISA=AVX2 run 2 --model cnn --precision bf16 --epochs 1 --max-steps 4 --run-dir "$TMP/bf16-avx2" \
     > "$TMP/bf16-avx2.log" 2>&1; then
  fail "--precision bf16 accepted with oneDNN held to AVX2"
fi
# (mpirun's own banner can land inside rank 0's line: taken out before counting, as in test-hostile.sh)
[ "$(perl -0777 -pe 's/-{20,}\n.*?-{20,}\n//gs' "$TMP/bf16-avx2.log" | grep -c "which run on AVX-512 CPUs")" -eq 1 ] || { cat "$TMP/bf16-avx2.log"; fail "--precision bf16 on AVX2: not one clear refusal"; }
[ ! -e "$TMP/bf16-avx2" ] || fail "--precision bf16 on AVX2: a run directory was created"
ONEDNN_MAX_CPU_ISA=AVX2 run 2 --model cnn --precision auto --epochs 1 --max-steps 2 --run-dir "$TMP/auto-avx2" \
  > "$TMP/auto-avx2.log" 2>&1 || { cat "$TMP/auto-avx2.log"; fail "--precision auto with oneDNN held to AVX2"; }
[ "$(plan_of "$TMP/auto-avx2")" = none ] || fail "--precision auto on AVX2 did not settle on float32"
pass "--precision bf16 refused with one message where oneDNN runs AVX2; --precision auto trains in float32 there"
if "$BIN" --model cnn --conv-precision conv1:bbb --run-dir "$TMP/plan-fp32" > "$TMP/plan-fp32.log" 2>&1; then fail "--conv-precision accepted in float32"; fi
grep -q -- "it needs --precision bf16 or auto" "$TMP/plan-fp32.log" || { cat "$TMP/plan-fp32.log"; fail "--conv-precision in float32: no reason"; }
if "$BIN" --model cnn --precision auto --conv-precision layer9.conv1:bbb --epochs 1 --run-dir "$TMP/plan-name" > "$TMP/plan-name.log" 2>&1; then
  fail "--conv-precision with a convolution the model lacks accepted"
fi
grep -q "no convolution 'layer9.conv1'" "$TMP/plan-name.log" || { cat "$TMP/plan-name.log"; fail "--conv-precision: the unknown convolution is not named"; }
[ ! -e "$TMP/plan-name" ] || fail "--conv-precision with an unknown convolution: a run directory was created"
pass "--conv-precision refused in float32 and with a convolution the model lacks, by name, nothing written"
if "$BIN" --model mlp --precision bf16 --run-dir "$TMP/bf16-mlp" > "$TMP/bf16-mlp.log" 2>&1; then fail "--precision bf16 accepted for the mlp"; fi
grep -q -- "--model mlp has none" "$TMP/bf16-mlp.log" || { cat "$TMP/bf16-mlp.log"; fail "--precision bf16 with the mlp: no reason"; }
[ ! -e "$TMP/bf16-mlp" ] || fail "--precision bf16 with the mlp: a run directory was created"
pass "--precision bf16 with the mlp refused by name"

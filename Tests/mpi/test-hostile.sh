#!/usr/bin/env bash
# The hostile-input set (Tests/hostile/make_cases.py): several hundred damaged or crafted data
# files, checkpoints, config files and option values, each run against the release binary.
# No case may crash (a signal, a Swift trap, a C++ assertion) or hang (60 s); a case marked
# "refuse" must exit non-zero with a message (for some, a given text naming the field and the
# reason) and leave no run directory behind. Memory is
# capped per case, so an allocation sized by a crafted field fails instead of taking the
# machine. A few cases run under mpirun -n 2: one message, not one per rank.
source "$(dirname "$0")/common.bash"
CASE_SECONDS=${CASE_SECONDS:-60}

# A real checkpoint to damage: 5 steps on the small data set of the cases.
python3 Tests/mpi/make_npy_shards.py /usr/share/datasets/fashion-mnist "$TMP/base" 0 256 64 > /dev/null
"$BIN" --data "$TMP/base" --imbalance-ratio 1 --batch-size 32 --epochs 1 --max-steps 5 --threads 1 --run-dir "$TMP/base-run" > /dev/null 2>&1 \
  || fail "the base run for the hostile set"
checkpoint=$(ls "$TMP"/base-run/checkpoints/*.ckpt | tail -1)
python3 Tests/hostile/make_cases.py "$TMP/set" "$checkpoint" > /dev/null || fail "making the hostile set"

crashes=0 hangs=0 accepted=0 refused=0 silent=0 leftovers=0 total=0
report=()
while IFS=$'\t' read -r -a fields; do
  name=${fields[0]} expect=${fields[1]} says=${fields[2]}
  args=("${fields[@]:3}")
  total=$((total + 1))
  run_dir="$TMP/run-$total"
  args=("${args[@]//RUN/$run_dir}")
  log="$TMP/case.log"
  set +e
  (ulimit -v 8000000; OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 timeout -k 5 "$CASE_SECONDS" "$BIN" "${args[@]}") > "$log" 2>&1 < /dev/null
  code=$?
  set -e
  if [ "$code" -eq 124 ] || { [ "$code" -eq 137 ] && ! grep -q . "$log"; }; then
    hangs=$((hangs + 1)); report+=("HANG  $name")
  elif [ "$code" -ge 128 ] || grep -qE "Fatal error|Assertion failed|failed to allocate|Segmentation fault|core dumped" "$log"; then
    first=$(grep -m1 -E 'Fatal|Assert|alloc|rror' "$log" || true)
    crashes=$((crashes + 1)); report+=("CRASH $name (exit $code): ${first:0:200}")
  elif [ "$code" -eq 0 ]; then
    accepted=$((accepted + 1))
    if [ "$expect" = refuse ]; then silent=$((silent + 1)); report+=("ACCEPTED $name (expected a refusal)"); fi
  else
    refused=$((refused + 1))
    if ! grep -qiE "error|invalid|expected|must|unknown|missing|not " "$log"; then
      silent=$((silent + 1)); report+=("NO MESSAGE $name (exit $code)")
    fi
    if [ "$expect" = refuse ] && [ -e "$run_dir" ]; then leftovers=$((leftovers + 1)); report+=("LEFT A RUN DIRECTORY $name"); fi
    if [ "$says" != "-" ] && ! grep -qF -- "$says" "$log"; then
      silent=$((silent + 1)); report+=("UNCLEAR $name: the message does not say '$says': $(head -c 200 "$log")")
    fi
  fi
  rm -rf "$run_dir"
done < "$TMP/set/cases.tsv"

# Under mpirun, a start-up error is said once, by rank 0.
for bad in "--lr nan" "--config $TMP/set/configs/toml-brackets.toml" "--data $TMP/set/data/npy-label-4611686018427387904"; do
  total=$((total + 1))
  # shellcheck disable=SC2086
  if run 2 $bad --run-dir "$TMP/mpi-run" > "$TMP/mpi.log" 2>&1; then silent=$((silent + 1)); report+=("ACCEPTED under mpirun: $bad"); continue; fi
  # mpirun prints its own banner ("Primary job terminated normally...") when a
  # rank exits non-zero, and may print it in the middle of a line it is still
  # forwarding from the rank; take the banner out before counting our lines.
  perl -0777 -pe 's/-{20,}\n.*?-{20,}\n//gs' "$TMP/mpi.log" > "$TMP/mpi-own.log"
  n=$(grep -ciE "^(error|Error)" "$TMP/mpi-own.log" || true)
  if [ "$n" -ne 1 ]; then silent=$((silent + 1)); report+=("$n error lines under mpirun -n 2 for $bad: $(head -c 300 "$TMP/mpi.log")"); fi
  refused=$((refused + 1))
done

for line in "${report[@]}"; do echo "  $line"; done
echo "hostile: $total cases: $crashes crashes, $hangs hangs, $refused refused, $accepted accepted; $silent unexpected acceptances or silent refusals, $leftovers run directories left"
[ $((crashes + hangs + silent + leftovers)) -eq 0 ] || fail "the hostile set found problems (listed above)"
pass "hostile set: $total cases, no crash, no hang, every refusal with a message and nothing written"

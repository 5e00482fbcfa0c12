#!/usr/bin/env bash
# The Communicator's all-reduce, broadcast and all-gather on 2 and 4 ranks
# (through doctor's checks with known answers), and doctor on 1 and 4 ranks.
source "$(dirname "$0")/common.bash"

for n in 2 4; do
  run "$n" doctor --json --threads 1 > "$TMP/doctor$n.json"
  python3 - "$TMP/doctor$n.json" "$n" <<'PY'
import json, sys
report = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert report["world_size"] == n, report["world_size"]
assert report["allreduce_ok"] is True, report
assert [r["rank"] for r in report["ranks"]] == list(range(n)), report["ranks"]
for r in report["ranks"]:
    assert r["blas_core"].lower() not in ("prescott", "core2", "nehalem", "atom"), r
    assert r["blas_threads"] == 1, r
    assert r["sgemm_gflops"] > 0, r
    assert r["blas_flushes_denormals"] is True, r
assert report["mpi_library"].startswith("Open MPI"), report["mpi_library"]
PY
  pass "doctor and collectives on $n ranks"
done

# Blocking float sums through the shared-memory window (forced; a host with more ranks than
# cores takes it by itself) and through MPI only, on 3 ranks: doctor's sums with known answers.
for shared in 1 0; do
  DDP_TRAIN_SHARED_SUM=$shared run 3 doctor --json --threads 1 > "$TMP/doctor-shared$shared.json"
  python3 -c "import json, sys; r = json.load(open(sys.argv[1])); assert r['allreduce_ok'] is True, r" "$TMP/doctor-shared$shared.json"
  pass "collectives on 3 ranks with DDP_TRAIN_SHARED_SUM=$shared"
done
# Where no shared window can be had (here: Open MPI's one-sided sm component left out), the
# sums fall back to MPI on every rank, and rank 0 says so once.
DDP_TRAIN_SHARED_SUM=1 OMPI_MCA_osc=pt2pt run 3 doctor --json --threads 1 > "$TMP/doctor-noshm.json" 2> "$TMP/doctor-noshm.err" \
  || { cat "$TMP/doctor-noshm.err"; fail "doctor without a shared window"; }
python3 -c "import json, sys; r = json.load(open(sys.argv[1])); assert r['allreduce_ok'] is True, r" "$TMP/doctor-noshm.json" \
  || fail "sums without a shared window"
[ "$(grep -c "warning: gradients are summed through MPI_Allreduce: no shared-memory window" "$TMP/doctor-noshm.err")" -eq 1 ] \
  || { cat "$TMP/doctor-noshm.err"; fail "not one warning that the shared window is missing"; }
pass "no shared window: the sums fall back to MPI on every rank, one warning"

"$BIN" doctor --json > "$TMP/doctor1.json"
python3 - "$TMP/doctor1.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["world_size"] == 1 and report["allreduce_ok"] is True, report
assert len(report["ranks"]) == 1
# One process uses every core: sgemm runs several threads, each of which must flush denormals.
assert report["ranks"][0]["blas_threads"] >= 1 and report["ranks"][0]["blas_flushes_denormals"] is True, report
PY
pass "doctor without mpirun is a world of 1"

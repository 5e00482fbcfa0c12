# Shared by the multi-rank test scripts: the binary, mpirun flags, checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN="${DDP_TRAIN_BIN:-$PWD/.build/release/ddp-train}"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Keep the suite fast and quiet: shared-memory transport only, no warnings about oversubscription.
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# mpirun's local processes authenticate to it with the kernel's peer credentials (PMIx's
# "native"), not munge: where munge is installed but its daemon is gone (a stale socket),
# PMIx retries it for about 2 s on every launch. A user's PMIX_MCA_psec is kept.
export_psec() { export PMIX_MCA_psec=${PMIX_MCA_psec:-native}; }

# run N ARGS...: the binary under mpirun with N ranks (one BLAS thread each)
run() {
  local n=$1; shift
  ( export_psec; exec timeout 600 mpirun -n "$n" --oversubscribe --bind-to none "$BIN" "$@" )
}

# ranks_of PATTERN: the pids of the ranks whose command line matches PATTERN (pgrep -f): the
# processes running $BIN's file, whatever they are called (on a CPU OpenBLAS does not know, or
# under DDP_TRAIN_FORCE_REEXEC=1, a rank is the program re-executed). mpirun and timeout, whose
# command lines hold the same words, run other files.
ranks_of() {
  local exe p
  exe=$(readlink -f "$BIN")
  for p in $(pgrep -f -- "$1" || true); do
    [ "$(readlink /proc/"$p"/exe 2> /dev/null)" = "$exe" ] && echo "$p"
  done
  return 0
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# refuse EXPECT ARGS...: one process of the script's "${base[@]}" with ARGS must be refused,
# saying EXPECT, with no run directory written.
refuse() {
  local expect=$1; shift
  run 1 "${base[@]}" "$@" --run-dir "$TMP/refused" > "$TMP/refused.log" 2>&1 && { cat "$TMP/refused.log"; fail "$* was accepted"; }
  grep -q -- "$expect" "$TMP/refused.log" || { cat "$TMP/refused.log"; fail "$*: the message does not say '$expect'"; }
  [ ! -e "$TMP/refused" ] || fail "$*: a run directory was written"
}
pass() { echo "ok: $*"; }

# test_python PACKAGE...: prints the path of a Python that has the packages (a virtual
# environment shared by the test scripts; the packages are the tests' own, never ddp-train's).
test_python() {
  local venv=${DDP_TRAIN_TEST_VENV:-/tmp/ddp-train-test-venv}
  "$venv/bin/python" -c "" 2>/dev/null || python3 -m venv "$venv" >&2
  "$venv/bin/python" -c "import $(echo "$@" | sed 's/pillow/PIL/; s/ /, /g')" 2>/dev/null \
    || "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
  echo "$venv/bin/python"
}

#!/usr/bin/env bash
# One command from a fresh machine to a training run: installs what is missing,
# builds in release mode and trains the default job on all local cores.
#   bash launch/run.sh [ddp-train options...]
# RANKS=N overrides the number of ranks (default: the host's cores).
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
swift build -c release
ranks="${RANKS:-$(nproc --all)}"
exec bash launch/mpirun.sh -n "$ranks" .build/release/ddp-train "$@"

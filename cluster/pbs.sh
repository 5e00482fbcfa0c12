#!/usr/bin/env bash
# PBS Pro / OpenPBS job script: 2 nodes x 8 ranks.
#   qsub cluster/pbs.sh        (options for ddp-train in DDP_TRAIN_ARGS)
#PBS -N ddp-train
#PBS -l select=2:ncpus=8:mpiprocs=8
#PBS -l walltime=04:00:00
#PBS -j oe
#PBS -r y
set -euo pipefail

cd "${PBS_O_WORKDIR:-.}"
BIN="${DDP_TRAIN_BIN:-$PWD/.build/release/ddp-train}"
RUN_DIR="${RUN_DIR:-$PWD/runs/${PBS_JOBNAME:-ddp-train}-${PBS_JOBID:-local}}"
RANKS=$(wc -l < "${PBS_NODEFILE:?PBS_NODEFILE is not set: submit with qsub}")

# shellcheck disable=SC2086
mpirun -n "$RANKS" --hostfile "$PBS_NODEFILE" --bind-to core "$BIN" train --threads 1 \
  --run-dir "$RUN_DIR" --resume auto ${DDP_TRAIN_ARGS:-}

#!/usr/bin/env bash
# mpirun with the flags this machine needs: usage  launch/mpirun.sh -n N PROGRAM [ARGS...]
# - allows running as root (Open MPI refuses it otherwise), only when root;
# - adds --oversubscribe when N exceeds this host's cores;
# - binds nothing when a rank gets several cores (BLAS threads), by core otherwise.
set -euo pipefail

ranks=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -n|-np|--np) ranks="${args[$((i + 1))]}" ;;
  esac
done

cores=$(nproc --all)
flags=()
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
if [ "$ranks" -gt "$cores" ]; then
  flags+=(--oversubscribe)
fi
if [ "$ranks" -lt "$cores" ]; then
  flags+=(--bind-to none)
fi
exec mpirun "${flags[@]}" "$@"

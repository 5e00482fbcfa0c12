#!/usr/bin/env bash
# mpirun with the flags this machine needs: usage  launch/mpirun.sh -n N PROGRAM [ARGS...]
# - allows running as root (Open MPI refuses it otherwise), only when root;
# - adds --oversubscribe when N exceeds this host's cores;
# - binds nothing when a rank gets several cores (BLAS threads), by core otherwise;
# - lets the local processes authenticate to mpirun with the kernel's peer credentials (PMIx's
#   "native" security) unless PMIX_MCA_psec says otherwise: where munge is installed but its
#   daemon is not running, PMIx would retry munge for about 2 s at every start.
set -euo pipefail

ranks=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -n|-np|--np) ranks="${args[$((i + 1))]}" ;;
  esac
done

export PMIX_MCA_psec=${PMIX_MCA_psec:-native}
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

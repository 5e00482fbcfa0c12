#!/usr/bin/env bash
# Installs what ddp-train needs and is missing: OpenMPI, OpenBLAS, zstd, zlib, oneDNN,
# libjpeg-turbo and libpng (image folders and tar shards),
# pkg-config, python3, python3-venv (the tests install Pillow, NumPy, onnx and onnxruntime
# into their own virtual environment) and the zstd tool (test scripts) and the real Fashion-MNIST
# (Debian's dataset-fashion-mnist). As root or with sudo it installs them (apt-get update
# first); otherwise it prints the exact command and fails.
set -euo pipefail

packages=(libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev zlib1g-dev libdnnl-dev libturbojpeg0-dev libpng-dev pkg-config python3 python3-venv zstd dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "setup: installing ${missing[*]} with sudo" >&2
  sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root:  $cmd" >&2
  exit 1
fi

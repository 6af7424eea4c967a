#!/usr/bin/env bash
# Installs what NeuralSDE for Swift needs on Debian, only where missing:
#   apt: OpenBLAS, oneDNN, zlib and libjpeg headers, Open MPI (library and mpirun), the Fashion-MNIST data set
#   pip (with --python): numpy + safetensors for the checkpoint interop test
set -euo pipefail
want_python=0
[ "${1:-}" = "--python" ] && want_python=1

apt_packages=(libopenblas-dev libdnnl-dev zlib1g-dev libjpeg-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$want_python" = 1 ]; then
  if ! python3 -c "import numpy, safetensors" 2>/dev/null; then
    echo "Installing Python packages: numpy safetensors"
    python3 -m pip install -q numpy safetensors
  fi
fi

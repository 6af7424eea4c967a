#!/usr/bin/env bash
# The main job on its built-in default: installs what is missing, builds nsde in release mode
# and runs the end-to-end demo (train a tiny conv net on real Fashion-MNIST, print accuracy).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product nsde
.build/release/nsde demo "$@"

#!/usr/bin/env bash
# The main job on its built-in default: installs what is missing, builds nsde in release mode
# and runs the end-to-end demo: a Neural ODE and a dropout Neural SDE trained on real Fashion-MNIST,
# compared without and with test-time noise (nsde demo; options pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product nsde
.build/release/nsde demo "$@"

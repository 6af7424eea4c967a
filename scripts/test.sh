#!/usr/bin/env bash
# Runs every test of NeuralSDE for Swift after installing what they need.
# Tests are built in release mode (numerics are too slow in debug) with testing enabled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh --python
swift test -c release -Xswiftc -enable-testing "$@"

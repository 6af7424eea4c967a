#!/usr/bin/env bash
# Runs every test of NeuralSDE for Swift after installing what they need.
# Tests are built in release mode (numerics are too slow in debug) with testing enabled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh --python
# Short OpenMP spin-wait (see OpenMPEnvironment in Parallel.swift): libgomp reads it at load.
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}"
swift test -c release -Xswiftc -enable-testing "$@"

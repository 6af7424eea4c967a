#!/usr/bin/env bash
# Runs the test suite (or the tests matching FILTER) under a sanitizer.
#
#   scripts/sanitize.sh address [FILTER]   AddressSanitizer (heap/stack overflows, use after free)
#   scripts/sanitize.sh thread  [FILTER]   ThreadSanitizer (data races in the parallel kernels,
#                                          the prefetching data loader, the progress display)
#
# Each sanitizer builds into its own folder (.build-asan, .build-tsan) in release mode with
# testing enabled, so the ordinary .build is untouched. The tests that start the `nsde`
# executable run it instrumented too. Exits non-zero when a sanitizer reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-address}"
filter="${2:-}"
case "$kind" in
  address) build=.build-asan; export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}" ;;
  thread)  build=.build-tsan; export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}" ;;
  *) echo "usage: scripts/sanitize.sh address|thread [FILTER]" >&2; exit 2 ;;
esac
scripts/ensure-deps.sh --python
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}"
# The tests find the nsde executable next to the test bundle; with --build-path it is there too.
args=(-c release -Xswiftc -enable-testing --sanitize="$kind" --build-path "$build")
swift build "${args[@]}" --build-tests
if [ -n "$filter" ]; then
  swift test "${args[@]}" --skip-build --filter "$filter"
else
  swift test "${args[@]}" --skip-build
fi

#!/usr/bin/env bash
# Builds Benchmarks/harness/mlp_solve.c against the library's C kernels (Sources/CKernels, the
# compiler flags of Package.swift; each kernel's instruction-set level is picked at load time as in
# nsde) and runs it with the given arguments: where one shard of `nsde bench mlp-sde`'s solve spends
# its time, without Swift. Examples:
#
#   Benchmarks/harness/mlp_solve.sh                 # dropout noise, 100 steps, 60 runs
#   Benchmarks/harness/mlp_solve.sh --alias 20      # the same work, saved tensors on 20 steps' buffers
#   Benchmarks/harness/mlp_solve.sh --additive --runs 200
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for f in small_gemm kernels normalization; do
    clang -O3 -fno-math-errno -ISources/CKernels/include -c "Sources/CKernels/$f.c" -o "$out/$f.o"
done
clang -O3 -ISources/CKernels/include Benchmarks/harness/mlp_solve.c "$out"/*.o -o "$out/mlp_solve" -lm
"$out/mlp_solve" "$@"

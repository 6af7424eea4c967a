#!/usr/bin/env bash
# Builds the C kernels (Sources/CKernels: elementwise, Philox, Winograd transforms, GroupNorm, axis sums, nChw16c conversions, updates, Winograd F(2x2, 3x3) and F(4x4, 3x3), the register-tiled GEMM) once per instruction-set level, without the
# load-time dispatch, runs each on the same inputs and checks that every level writes the same
# bits (the kernels promise it: IEEE operations only, no FMA contraction, fused multiply-adds only
# where the source asks for them; the v4fma build enables FMA instructions to check that the source
# forbids contracting into them). Needs clang (the Swift
# toolchain's) and a processor with AVX-512 to run all three levels; levels the processor lacks
# are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/harness.c" <<'C'
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include "nsde_kernels.h"
int main(void) {
    enum { N = 100003 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float)), *z = malloc(N * sizeof(float)),
          *out = malloc(N * sizeof(float));
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        x[i] = (float)(int32_t)s * 0x1p-27f;
        y[i] = (float)(s % 4001) / 1000.0f - 2.0f;
        z[i] = (float)(s % 997) / 997.0f;
    }
    uint64_t h = 1469598103934665603ull;
#define MIX(buf, n) for (int i = 0; i < (n); i++) { union { float f; uint32_t u; } v = { (buf)[i] }; h = (h ^ v.u) * 1099511628211ull; }
    nsde_philox_normal(7, 9, 3, 5, N / 4, 0.5f, 2.0f, out); MIX(out, N / 4 * 4)
    nsde_tanh(x, out, N); MIX(out, N)
    nsde_binary(NSDE_ADD, x, y, out, N); MIX(out, N)
    nsde_binary(NSDE_SUB, x, y, out, N); MIX(out, N)
    nsde_binary(NSDE_MUL, x, y, out, N); MIX(out, N)
    nsde_affine(x, 0.3f, -1.7f, out, N); MIX(out, N)
    nsde_adding_product(x, y, z, out, N); MIX(out, N)
    nsde_adding_product_affine(x, y, z, 0.3f, -1.7f, out, N); MIX(out, N)
    nsde_adding_scaled(x, y, 0.3f, z, -1.7f, out, N); MIX(out, N)
    nsde_product_affine(y, z, 0.3f, -1.7f, out, N); MIX(out, N)
    for (int i = 0; i < N; i++) out[i] = x[i];
    nsde_tanh_inplace(out, N); MIX(out, N)
    nsde_add_inplace(out, y, N); MIX(out, N)
    for (int i = 0; i < N; i++) out[i] = x[i];
    nsde_bias_tanh_inplace(out, y, N / 101, 101); MIX(out, N)
    nsde_bias_add_inplace(out, y, N / 101, 101); MIX(out, N)
    { double r = nsde_fixed_point_step(x, y, z, out, 1e-3, 1e-4, N); MIX(out, N)
      union { double d; uint64_t u; } v = { r }; h = (h ^ v.u) * 1099511628211ull; }
    // Winograd tile transforms: 2 images of 3 channels, 30x29, padding 1 (ragged tiling).
    nsde_winograd_tiling t = { 2, 30, 29, 1, 30, 29, 8, 8, 16 };
    int64_t tiles = 2 * 8 * 8, ld = tiles + 8, es = 3 * ld;
    float *rows = calloc(34 * 4 * 16, sizeof(float)), *tv = calloc(36 * es, sizeof(float));
    nsde_winograd_input(&t, 2.0f, x, 3, 0, 16, tv, ld, es, rows); MIX(tv, 36 * es)
    nsde_winograd_gradient(&t, 2.0f, y, 3, 0, 16, tv, ld, es, rows); MIX(tv, 36 * es)
    nsde_winograd_output(&t, 2.0f, z, ld, es, 3, 0, 16, y, out, rows); MIX(out, 2 * 3 * 30 * 29)
    // GroupNorm on [3, 6, 13, 17] (groups 3: 442 elements per row) with and without affine
    // parameters and ReLU, its backward, and the sum over the batch axis.
    { enum { GN = 3 * 6 * 13 * 17 };
      float mean[9], rstd[9], dgp[18], dbp[18], scratch[2 * 13 * 17];
      for (int relu = 0; relu < 2; relu++) {
          nsde_group_norm_forward(x, out, 0, 9, 3, 2, 13 * 17, relu ? z : NULL, relu ? y : NULL, 1e-5f, relu, mean, rstd);
          MIX(out, GN) MIX(mean, 9) MIX(rstd, 9)
          nsde_group_norm_backward(y, x, relu ? out : NULL, scratch, out + GN, 0, 9, 3, 2, 13 * 17, relu ? z : NULL, mean, rstd,
                                   dgp, dbp);
          MIX(out + GN, GN) MIX(dgp, 18) MIX(dbp, 18)
      }
      // The blocked variant: [2, 32, 5, 7] (hw 35: two 16-position tiles and a tail), 16 groups.
      { float bm[32], br[32], dgb[64], dbb[64], bscratch[16 * 35];
        nsde_group_norm_relu_forward_blocked(x, out, 0, 4, 16, 2, 35, z, y, 1e-5f, bm, br); MIX(out, 2240) MIX(bm, 32)
        nsde_group_norm_relu_backward_blocked(y, x, y, bscratch, out + 2240, 0, 4, 16, 2, 35, z, bm, br, dgb, dbb);
        MIX(out + 2240, 2240) MIX(dgb, 64) MIX(dbb, 64) }
      // From nChw16c to nChw16c, with and without the input addend and the ReLU.
      { float bm[32], br[32], dgb[64], dbb[64];
        for (int a = 0; a < 4; a++) {
            nsde_group_norm_forward_blocked_input(x, a & 1 ? z : NULL, out, 0, 4, 16, 2, 35, z, y, 1e-5f, a >> 1, bm, br);
            MIX(out, 2240) MIX(bm, 32) MIX(br, 32)
            nsde_group_norm_backward_blocked_input(y, x, a & 1 ? z : NULL, y, a >> 1, a == 3, out + 2240, 0, 4, 16, 2, 35, z, bm,
                                                   br, dgb, dbb);
            MIX(out + 2240, 2240) MIX(dgb, 64) MIX(dbb, 64)
        }
        // One sample of [16, 150] (three chunks of the one-read statistics, the last short), 8 groups.
        nsde_group_norm_forward_blocked_input(x, z, out, 0, 1, 8, 2, 150, z, y, 1e-5f, 0, bm, br);
        MIX(out, 2400) MIX(bm, 8) MIX(br, 8) }
      nsde_sum_rows(x, 7, 1500, 0, 1500, out); MIX(out, 1500)
      // nChw16c <-> NCHW of [3, 32, 5, 7] (hw 35: two 16-pixel tiles and a tail), with the
      // broadcast addition and the batch sums.
      nsde_unblock16(x, out, 0, 6, 32, 35, NULL); MIX(out, 3360)
      nsde_unblock16(x, out, 0, 6, 32, 35, y); MIX(out, 3360)
      nsde_block16(x, out, 0, 6, 32, 35); MIX(out, 3360)
      for (int b = 0; b < 2; b++) nsde_block16_summing(x, out, 3, 32, 35, b, 0, 35, out + 3360);
      MIX(out, 3360 + 1120)
      // Euler–Maruyama updates of a [3, 32, 35] nChw16c state with NCHW-ordered increments, and
      // their pullbacks.
      for (int k = 0; k < 3; k++) {
          nsde_em_update_blocked((nsde_blocked_noise)k, x, y, z, out, 0, 6, 32, 35, 0.25f, 0.7f); MIX(out, 3360)
          nsde_em_pullback_blocked((nsde_blocked_noise)k, x, z, out, out + 3360, 0, 6, 32, 35, 0.25f, 0.7f);
          if (k) MIX(out, 6720)
      }
      // Winograd F(2x2, 3x3) and F(4x4, 3x3) on nChw16c: a [2, 32, 7, 9] input, 16 output
      // channels, padding 1 and 0 (partial tiles); forward, backward-data and backward-weights with
      // the bias gradient.
#define WINOGRAD(F, P)                                                                                         \
      for (int pad = 0; pad < 2; pad++) {                                                                      \
          const int ho = 5 + 2 * pad, wo = 7 + 2 * pad;                                                        \
          float *u = malloc(P * 16 * 32 * sizeof(float)), *du = calloc(P * 16 * 32 + 16, sizeof(float));       \
          float *scratch = malloc(nsde_##F##_scratch_floats(32, 32, 9) * sizeof(float)), dw[16 * 32 * 9];      \
          nsde_##F##_weights(y, 16, 32, 0, u);                                                                 \
          nsde_##F##_forward(x, 0, 2, 32, 7, 9, u, z, 16, ho, wo, pad, out, scratch); MIX(out, 2 * 16 * ho * wo) \
          nsde_##F##_weights(y, 16, 32, 1, u);                                                                 \
          nsde_##F##_forward(z, 0, 2, 16, ho, wo, u, NULL, 32, 7, 9, 2 - pad, out, scratch); MIX(out, 2 * 32 * 63) \
          nsde_##F##_backward_weights(x, z, 0, 2, 32, 7, 9, 16, ho, wo, pad, du, du + P * 16 * 32, scratch);   \
          nsde_##F##_weight_gradient(du, 16, 32, dw); MIX(dw, 16 * 32 * 9) MIX(du + P * 16 * 32, 16)          \
          free(u); free(du); free(scratch);                                                                    \
      }
      WINOGRAD(wino2, 16)
      WINOGRAD(wino4, 36)
      // Column sums of a [150, 67] matrix (3 blocks of 64 rows, the last short), alone and after
      // the tanh gradient.
      float block[67], sums[67]; double total[67];
      nsde_column_sums(x, 150, 67, 70, block, total, sums); MIX(sums, 67)
      nsde_tanh_backward_column_sums(x, y, out, 150, 67, block, total, sums); MIX(out, 150 * 67) MIX(sums, 67)
      // The register-tiled GEMM: [7, 13] (or transposed [13, 7]) x [13, 112] (a 64-column panel and a
      // 48-column one, row tiles of 4 and 3), plain and with every epilogue.
      for (int t = 0; t < 2; t++)
          for (int e = 0; e < 7; e++) {
              nsde_gemm_epilogue ep = { 0 };
              if (e == 1) ep.accumulate = 1;
              if (e == 2) { ep.bias = z; ep.tanh = 1; }
              if (e == 3) { ep.tanh_output = y; ep.ld = 120; }
              if (e == 4 || e == 5) {
                  ep.bias = z; ep.update = e == 4 ? NSDE_UPDATE_PRODUCT_AFFINE : NSDE_UPDATE_SCALED;
                  ep.update_state = y; ep.update_noise = z + 500; ep.update_a = 0.3f; ep.update_b = -1.7f; ep.ld = 120;
              }
              for (int i = 0; i < 7 * 115; i++) out[i] = y[i];
              nsde_small_sgemm(t, 7, 112, 13, x, t ? 9 : 17, z, 115, out, 115, e == 6 ? NULL : &ep); MIX(out, 7 * 115)
          } }
    printf("%016llx %d\n", (unsigned long long)h, nsde_all_finite(x, N));
    return 0;
}
C
cc=$(command -v clang || command -v cc)
declare -A flags=([baseline]="-march=x86-64" [avx2]="-march=x86-64 -mavx2" [avx512f]="-march=x86-64 -mavx2 -mavx512f" [v4fma]="-march=x86-64-v4")
declare -A needs=([baseline]="" [avx2]="avx2" [avx512f]="avx512f" [v4fma]="avx512f")
reference=""
for level in baseline avx2 avx512f v4fma; do
    if [ -n "${needs[$level]}" ] && ! grep -qw "${needs[$level]}" /proc/cpuinfo; then echo "$level: skipped (processor lacks it)"; continue; fi
    # shellcheck disable=SC2086
    "$cc" -O3 -fno-math-errno ${flags[$level]} -DNSDE_CLONES= -ISources/CKernels/include \
        Sources/CKernels/kernels.c Sources/CKernels/winograd.c Sources/CKernels/normalization.c Sources/CKernels/blocked_layout.c Sources/CKernels/blocked_update.c Sources/CKernels/blocked_winograd.c Sources/CKernels/small_gemm.c "$work/harness.c" -o "$work/$level" -lm
    result=$("$work/$level")
    echo "$level: $result"
    if [ -z "$reference" ]; then reference="$result"; elif [ "$result" != "$reference" ]; then
        echo "error: the $level kernels differ from the baseline ones" >&2; exit 1
    fi
done
echo "all levels agree"

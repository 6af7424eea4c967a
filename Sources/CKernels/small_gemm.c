#include "nsde_kernels.h"
#include "tanh1.h"

#include <string.h>

// The library's register-tiled single-precision GEMM for products whose operands sit in the core's
// caches (the MLP drift of a neural SDE: a batch shard of 128 rows times 64–512 features), with the
// elementwise work that follows a layer's product (bias, tanh, the gradient through tanh, an
// Euler–Maruyama update, accumulation) applied to each tile while it is in registers.
//
// Each tile is 4 rows by up to 64 columns (four 16-float vectors, 16 accumulators): per k, four
// loads of B's row, four broadcasts of A and sixteen fused multiply-adds. No packing: B's 64-column
// panel (k rows) stays in the L1/L2 cache while the row tiles pass over it, and A is read in place,
// by rows or (transposed) by columns. Every output element is Σ_k a·b by fused multiply-adds in k
// order from zero, then the epilogue: the same values whichever thread or tile computes it, and at
// every instruction-set level (the baseline computes each fma in software).
#include "clones.h"
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))

typedef float gemm_v16 __attribute__((vector_size(64)));

enum { TILE_ROWS = 4, TILE_VECTORS = 4 };

// The epilogue on `rows` rows of `width` sums in `t` (row stride 64), written to C. Row r of the
// tile is row i0 + r of the output; columns start at j0.
INLINE void finish(const nsde_gemm_epilogue *e, float t[TILE_ROWS][64], int rows, int width, int64_t i0, int64_t j0,
                   float *c, int64_t ldc) {
    for (int r = 0; r < rows; r++) {
        float *restrict o = c + r * ldc;
        float *restrict v = t[r];
        int64_t at = (i0 + r) * e->ld + j0;
        if (e->bias) {
            const float *restrict bias = e->bias + j0;
            for (int q = 0; q < width; q++) v[q] = v[q] + bias[q];
        }
        if (e->tanh) for (int q = 0; q < width; q++) v[q] = nsde_tanh1(v[q]);
        if (e->tanh_output) {
            const float *restrict y = e->tanh_output + at;
            for (int q = 0; q < width; q++) { float s = y[q]; v[q] = v[q] * (1.0f - s * s); }
        }
        if (e->update == NSDE_UPDATE_PRODUCT_AFFINE) {
            const float *restrict x = e->update_state + at, *restrict noise = e->update_noise + at;
            const float scale = e->update_a, shift = e->update_b;
            for (int q = 0; q < width; q++) { float m = noise[q] * scale + shift; v[q] = x[q] + v[q] * m; }
        } else if (e->update == NSDE_UPDATE_SCALED) {
            const float *restrict x = e->update_state + at, *restrict noise = e->update_noise + at;
            const float alpha = e->update_a, beta = e->update_b;
            for (int q = 0; q < width; q++) v[q] = (x[q] + alpha * v[q]) + beta * noise[q];
        }
        if (e->accumulate) for (int q = 0; q < width; q++) o[q] = o[q] + v[q];
        else memcpy(o, v, (size_t)width * sizeof(float));
    }
}

// One tile of `rows` (1...4) rows and `vectors` (1...4) 16-column vectors: C[0..rows, 0..16·vectors]
// from A's rows (or, with trans_a, columns) at `a` and B's columns at `b`.
INLINE void tile(int rows, int vectors, int trans_a, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float *c, int64_t ldc, const nsde_gemm_epilogue *e, int64_t i0, int64_t j0) {
    // The tile's rows of C and of the epilogue's matrices, requested now so that they arrive while
    // the products run: a fresh output buffer, or a state saved many steps ago, is not in cache
    // (measured in the MLP SDE's backward pass: 3 % of its time).
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vectors; v++) __builtin_prefetch(c + r * ldc + 16 * v, 1, 3);
    if (e) {
        const int64_t at = i0 * e->ld + j0;
        const float *epilogue_rows[3] = { e->tanh_output, e->update == NSDE_UPDATE_NONE ? NULL : e->update_state,
                                          e->update == NSDE_UPDATE_NONE ? NULL : e->update_noise };
        for (int q = 0; q < 3; q++)
            if (epilogue_rows[q])
                for (int r = 0; r < rows; r++)
                    for (int v = 0; v < vectors; v++) __builtin_prefetch(epilogue_rows[q] + at + r * e->ld + 16 * v, 0, 3);
    }
    gemm_v16 acc[TILE_ROWS][TILE_VECTORS];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vectors; v++) acc[r][v] = (gemm_v16){ 0 };
    for (int64_t p = 0; p < k; p++) {
        gemm_v16 bv[TILE_VECTORS];
        for (int v = 0; v < vectors; v++) memcpy(&bv[v], b + p * ldb + 16 * v, sizeof(gemm_v16));
        for (int r = 0; r < rows; r++) {
            float s = trans_a ? a[p * lda + r] : a[r * lda + p];
            gemm_v16 splat = { s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s };
            for (int v = 0; v < vectors; v++) acc[r][v] = FMA(splat, bv[v], acc[r][v]);
        }
    }
    if (!e) {
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < vectors; v++) memcpy(c + r * ldc + 16 * v, &acc[r][v], sizeof(gemm_v16));
        return;
    }
    float t[TILE_ROWS][64] __attribute__((aligned(64)));
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vectors; v++) memcpy(&t[r][16 * v], &acc[r][v], sizeof(gemm_v16));
    finish(e, t, rows, 16 * vectors, i0, j0, c, ldc);
}

// The tile for run-time `rows` and compile-time `vectors` and `trans_a`.
#define TILE_ROWS_OF(vectors, trans_a)                                                                              \
    switch (rows) {                                                                                                 \
    case 4: tile(4, vectors, trans_a, k, pa, lda, pb, ldb, pc, ldc, e, i, j); break;                                \
    case 3: tile(3, vectors, trans_a, k, pa, lda, pb, ldb, pc, ldc, e, i, j); break;                                \
    case 2: tile(2, vectors, trans_a, k, pa, lda, pb, ldb, pc, ldc, e, i, j); break;                                \
    default: tile(1, vectors, trans_a, k, pa, lda, pb, ldb, pc, ldc, e, i, j); break;                               \
    }

INLINE void sgemm(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float *c, int64_t ldc, const nsde_gemm_epilogue *e) {
    // Column panels of 64 (the last of 16, 32 or 48), each swept by row tiles of 4 while B's panel
    // is in cache.
    for (int64_t j = 0; j < n;) {
        int64_t left = n - j;
        int vectors = left >= 64 ? 4 : (int)(left / 16);
        for (int64_t i = 0; i < m; i += TILE_ROWS) {
            int rows = m - i < TILE_ROWS ? (int)(m - i) : TILE_ROWS;
            const float *pa = trans_a ? a + i : a + i * lda, *pb = b + j;
            float *pc = c + i * ldc + j;
            switch (vectors) {
            case 4: TILE_ROWS_OF(4, trans_a) break;
            case 3: TILE_ROWS_OF(3, trans_a) break;
            case 2: TILE_ROWS_OF(2, trans_a) break;
            default: TILE_ROWS_OF(1, trans_a) break;
            }
        }
        j += 16 * vectors;
    }
}

void NSDE_CLONES nsde_small_sgemm(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                  const float *b, int64_t ldb, float *c, int64_t ldc, const nsde_gemm_epilogue *epilogue) {
    // A plain product (no epilogue work) stores the accumulators directly.
    const nsde_gemm_epilogue *e = epilogue;
    if (e && !e->bias && !e->tanh && !e->tanh_output && e->update == NSDE_UPDATE_NONE && !e->accumulate) e = NULL;
    if (trans_a) sgemm(1, m, n, k, a, lda, b, ldb, c, ldc, e);
    else sgemm(0, m, n, k, a, lda, b, ldb, c, ldc, e);
}

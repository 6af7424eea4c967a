#include "nsde_kernels.h"
#include "blocked16.h"

#include <stddef.h>

// Winograd F(2x2, 3x3) convolutions on oneDNN's blocked layout nChw16c (the library's
// `BlockedWinogradConvolution`): 3x3 kernels, stride 1, channel counts that are multiples of 16.
// Every pixel of a block is one 16-channel vector, so the tile transforms are vector additions and
// the per-position products are 16x16 blocks of broadcast multiply-adds, with no layout change.
//
// Transforms (Lavin and Gray, 2016):
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   (input tile d, 4x4:  V = Bᵀ d B)
//   G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]             (weights g, 3x3:     U = G g Gᵀ)
//   Aᵀ = [1 1 1 0; 0 1 -1 -1]                       (output tile:        Y = Aᵀ (U ⊙ V) A)
// The weight gradient is the adjoint: dU = Σ_tiles (A dY Aᵀ) ⊙ V, dg = Gᵀ dU G.
//
// The transforms are additions in a fixed order and the products explicit fused multiply-adds, in
// a fixed order over the input channels, so every instruction-set level writes the same bits (the
// baseline computes each fma in software).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#ifndef NSDE_CLONES   // scripts/check-kernel-clones.sh builds one level at a time
#define NSDE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

#define INLINE static inline __attribute__((always_inline))
#define SPLAT(s) ({ float _s = (s); (v16){_s, _s, _s, _s, _s, _s, _s, _s, _s, _s, _s, _s, _s, _s, _s, _s}; })
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))

// Tiles whose products are computed together (the accumulators stay in registers).
#define GROUP 8

INLINE int64_t tiles_padded(int64_t tw) { return (tw + GROUP - 1) / GROUP * GROUP; }

int64_t nsde_wino2_scratch_floats(int64_t in_channels, int64_t out_channels, int64_t out_width) {
    return (in_channels + out_channels) * 16 * tiles_padded((out_width + 1) / 2) + GROUP * 256;
}

// MARK: - Weights

void nsde_wino2_weights(const float *w, int64_t out_channels, int64_t in_channels, int backward_data, float *u) {
    // Forward: U[o/16][p][c][o%16] from w[o][c]. Backward data convolves with the flipped,
    // transposed kernel (output channels c, input channels o): U[c/16][p][o][c%16].
    const int64_t rows = backward_data ? out_channels : in_channels;
    for (int64_t o = 0; o < out_channels; o++) {
        for (int64_t c = 0; c < in_channels; c++) {
            const float *g = w + (o * in_channels + c) * 9;
            float k[9];
            for (int i = 0; i < 9; i++) k[i] = backward_data ? g[8 - i] : g[i];
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                t[0][j] = k[j];
                t[1][j] = 0.5f * ((k[j] + k[3 + j]) + k[6 + j]);
                t[2][j] = 0.5f * ((k[j] - k[3 + j]) + k[6 + j]);
                t[3][j] = k[6 + j];
            }
            const int64_t col = backward_data ? c : o, row = backward_data ? o : c;
            for (int i = 0; i < 4; i++) {
                const float r[4] = {t[i][0], 0.5f * ((t[i][0] + t[i][1]) + t[i][2]), 0.5f * ((t[i][0] - t[i][1]) + t[i][2]),
                                    t[i][2]};
                for (int j = 0; j < 4; j++) u[(((col / 16) * 16 + i * 4 + j) * rows + row) * 16 + col % 16] = r[j];
            }
        }
    }
}

void nsde_wino2_weight_gradient(const float *du, int64_t out_channels, int64_t in_channels, float *dw) {
    // dw[o][c] = Gᵀ dU[·][c][o] G, dU laid out [p][c][o].
    for (int64_t o = 0; o < out_channels; o++) {
        for (int64_t c = 0; c < in_channels; c++) {
            float m[4][4];
            for (int p = 0; p < 16; p++) m[p / 4][p % 4] = du[(p * in_channels + c) * out_channels + o];
            float t[3][4];
            for (int j = 0; j < 4; j++) {
                t[0][j] = m[0][j] + 0.5f * (m[1][j] + m[2][j]);
                t[1][j] = 0.5f * (m[1][j] - m[2][j]);
                t[2][j] = 0.5f * (m[1][j] + m[2][j]) + m[3][j];
            }
            float *g = dw + (o * in_channels + c) * 9;
            for (int i = 0; i < 3; i++) {
                g[i * 3 + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
                g[i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
                g[i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
            }
        }
    }
}

// MARK: - Tile transforms

INLINE void bt4(v16 *a, v16 *b, v16 *c, v16 *d) {
    const v16 r0 = *a - *c, r1 = *b + *c, r2 = *c - *b, r3 = *b - *d;
    *a = r0; *b = r1; *c = r2; *d = r3;
}

// V[cb][p][t][16] for the tiles of output-tile row ty: the 4x4 input patches at rows 2ty - pad + i,
// columns 2t - pad + j (zero outside the image), Bᵀ d B. Tiles tw..<twp are zero.
INLINE void input_transform(const float *x, int64_t cblocks, int64_t h, int64_t w, int64_t pad, int64_t ty, int64_t tw,
                            int64_t twp, float *v) {
    const int64_t y0 = 2 * ty - pad;
    const int rows_inside = y0 >= 0 && y0 + 4 <= h;
    for (int64_t cb = 0; cb < cblocks; cb++) {
        const float *xs = x + cb * h * w * 16;
        float *vb = v + cb * 16 * twp * 16;
        for (int64_t t = 0; t < twp; t++) {
            v16 d[4][4];
            const int64_t x0 = 2 * t - pad;
            if (t < tw && rows_inside && x0 >= 0 && x0 + 4 <= w) {
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) d[i][j] = LOADV(xs + ((y0 + i) * w + x0 + j) * 16);
            } else {
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 4; j++) {
                        const int64_t yy = y0 + i, xx = x0 + j;
                        d[i][j] = (t < tw && yy >= 0 && yy < h && xx >= 0 && xx < w) ? LOADV(xs + (yy * w + xx) * 16) : (v16){0};
                    }
                }
            }
            for (int j = 0; j < 4; j++) bt4(&d[0][j], &d[1][j], &d[2][j], &d[3][j]);
            for (int i = 0; i < 4; i++) bt4(&d[i][0], &d[i][1], &d[i][2], &d[i][3]);
            for (int p = 0; p < 16; p++) STOREV(vb + (p * twp + t) * 16, d[p / 4][p % 4]);
        }
    }
}

// MARK: - Products

// m[t][p] = Σ_c v[cb][p][t][c] · u[p][c] for `count` tiles and one position p.
#define PRODUCT(K)                                                                                                   \
    INLINE void product##K(const float *vp, const float *up, int64_t cblocks, int64_t vstride, float *m) {            \
        v16 acc[K];                                                                                                   \
        for (int t = 0; t < K; t++) acc[t] = (v16){0};                                                                \
        for (int64_t cb = 0; cb < cblocks; cb++) {                                                                    \
            const float *vc = vp + cb * vstride, *uc = up + cb * 256;                                                 \
            for (int c = 0; c < 16; c++) {                                                                            \
                const v16 u = LOADV(uc + c * 16);                                                                     \
                for (int t = 0; t < K; t++) acc[t] = FMA(SPLAT(vc[t * 16 + c]), u, acc[t]);                           \
            }                                                                                                         \
        }                                                                                                             \
        for (int t = 0; t < K; t++) STOREV(m + t * 256, acc[t]);                                                      \
    }
PRODUCT(1) PRODUCT(2) PRODUCT(3) PRODUCT(4) PRODUCT(5) PRODUCT(6) PRODUCT(7) PRODUCT(8)

INLINE void product(int64_t count, const float *vp, const float *up, int64_t cblocks, int64_t vstride, float *m) {
    switch (count) {
    case 8: product8(vp, up, cblocks, vstride, m); break;
    case 7: product7(vp, up, cblocks, vstride, m); break;
    case 6: product6(vp, up, cblocks, vstride, m); break;
    case 5: product5(vp, up, cblocks, vstride, m); break;
    case 4: product4(vp, up, cblocks, vstride, m); break;
    case 3: product3(vp, up, cblocks, vstride, m); break;
    case 2: product2(vp, up, cblocks, vstride, m); break;
    default: product1(vp, up, cblocks, vstride, m); break;
    }
}

// MARK: - Forward (and backward data)

void NSDE_CLONES nsde_wino2_forward(const float *x, int64_t batch_begin, int64_t batch_end, int64_t in_channels,
                                    int64_t height, int64_t width, const float *u, const float *bias, int64_t out_channels,
                                    int64_t out_height, int64_t out_width, int64_t pad, float *y, float *scratch) {
    const int64_t cblocks = in_channels / 16, oblocks = out_channels / 16;
    const int64_t th = (out_height + 1) / 2, tw = (out_width + 1) / 2, twp = tiles_padded(tw);
    float *v = scratch, *m = scratch + cblocks * 16 * twp * 16;
    for (int64_t n = batch_begin; n < batch_end; n++) {
        const float *xn = x + n * in_channels * height * width;
        for (int64_t ty = 0; ty < th; ty++) {
            input_transform(xn, cblocks, height, width, pad, ty, tw, twp, v);
            for (int64_t ob = 0; ob < oblocks; ob++) {
                const v16 b = bias ? LOADV(bias + ob * 16) : (v16){0};
                float *yb = y + (n * oblocks + ob) * out_height * out_width * 16;
                for (int64_t t0 = 0; t0 < tw; t0 += GROUP) {
                    const int64_t count = tw - t0 < GROUP ? tw - t0 : GROUP;
                    for (int p = 0; p < 16; p++)
                        product(count, v + (p * twp + t0) * 16, u + (ob * 16 + p) * in_channels * 16, cblocks,
                                16 * twp * 16, m + p * 16);
                    for (int64_t t = 0; t < count; t++) {
                        v16 q[16];
                        for (int p = 0; p < 16; p++) q[p] = LOADV(m + (t * 16 + p) * 16);
                        v16 r[2][4];
                        for (int j = 0; j < 4; j++) {
                            r[0][j] = (q[j] + q[4 + j]) + q[8 + j];
                            r[1][j] = (q[4 + j] - q[8 + j]) - q[12 + j];
                        }
                        const int64_t xx = 2 * (t0 + t);
                        for (int i = 0; i < 2 && 2 * ty + i < out_height; i++) {
                            float *row = yb + ((2 * ty + i) * out_width + xx) * 16;
                            STOREV(row, ((r[i][0] + r[i][1]) + r[i][2]) + b);
                            if (xx + 1 < out_width) STOREV(row + 16, ((r[i][1] - r[i][2]) - r[i][3]) + b);
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Backward weights

// D[ob][p][t][16] = A dY Aᵀ for the output-gradient tiles of row ty (2x2, zero past the edges).
INLINE void gradient_transform(const float *dy, int64_t oblocks, int64_t out_height, int64_t out_width, int64_t ty,
                               int64_t tw, int64_t twp, float *d) {
    for (int64_t ob = 0; ob < oblocks; ob++) {
        const float *gs = dy + ob * out_height * out_width * 16;
        float *db = d + ob * 16 * twp * 16;
        for (int64_t t = 0; t < twp; t++) {
            v16 e[2][2];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    const int64_t yy = 2 * ty + i, xx = 2 * t + j;
                    e[i][j] = (t < tw && yy < out_height && xx < out_width) ? LOADV(gs + (yy * out_width + xx) * 16) : (v16){0};
                }
            }
            v16 c[4][2];   // A e: rows e0, e0 + e1, e0 - e1, -e1
            for (int j = 0; j < 2; j++) {
                c[0][j] = e[0][j];
                c[1][j] = e[0][j] + e[1][j];
                c[2][j] = e[0][j] - e[1][j];
                c[3][j] = -e[1][j];
            }
            for (int i = 0; i < 4; i++) {
                STOREV(db + ((i * 4 + 0) * twp + t) * 16, c[i][0]);
                STOREV(db + ((i * 4 + 1) * twp + t) * 16, c[i][0] + c[i][1]);
                STOREV(db + ((i * 4 + 2) * twp + t) * 16, c[i][0] - c[i][1]);
                STOREV(db + ((i * 4 + 3) * twp + t) * 16, -c[i][1]);
            }
        }
    }
}

void NSDE_CLONES nsde_wino2_backward_weights(const float *x, const float *dy, int64_t batch_begin, int64_t batch_end,
                                             int64_t in_channels, int64_t height, int64_t width, int64_t out_channels,
                                             int64_t out_height, int64_t out_width, int64_t pad, float *du, float *dbias,
                                             float *scratch) {
    const int64_t cblocks = in_channels / 16, oblocks = out_channels / 16;
    const int64_t th = (out_height + 1) / 2, tw = (out_width + 1) / 2, twp = tiles_padded(tw);
    float *v = scratch, *d = scratch + cblocks * 16 * twp * 16;
    for (int64_t n = batch_begin; n < batch_end; n++) {
        const float *xn = x + n * in_channels * height * width;
        const float *gn = dy + n * out_channels * out_height * out_width;
        for (int64_t ty = 0; ty < th; ty++) {
            input_transform(xn, cblocks, height, width, pad, ty, tw, twp, v);
            gradient_transform(gn, oblocks, out_height, out_width, ty, tw, twp, d);
            for (int p = 0; p < 16; p++) {
                for (int64_t cb = 0; cb < cblocks; cb++) {
                    const float *vp = v + (cb * 16 + p) * twp * 16;
                    for (int64_t ob = 0; ob < oblocks; ob++) {
                        const float *dp = d + (ob * 16 + p) * twp * 16;
                        float *out = du + (p * in_channels + cb * 16) * out_channels + ob * 16;
                        v16 acc[16];
                        for (int c = 0; c < 16; c++) acc[c] = LOADV(out + c * out_channels);
                        for (int64_t t = 0; t < tw; t++) {
                            const v16 g = LOADV(dp + t * 16);
                            for (int c = 0; c < 16; c++) acc[c] = FMA(SPLAT(vp[t * 16 + c]), g, acc[c]);
                        }
                        for (int c = 0; c < 16; c++) STOREV(out + c * out_channels, acc[c]);
                    }
                }
            }
        }
        if (dbias) {
            for (int64_t ob = 0; ob < oblocks; ob++) {
                const float *gs = gn + ob * out_height * out_width * 16;
                v16 s = LOADV(dbias + ob * 16);
                for (int64_t k = 0; k < out_height * out_width; k++) s += LOADV(gs + k * 16);
                STOREV(dbias + ob * 16, s);
            }
        }
    }
}

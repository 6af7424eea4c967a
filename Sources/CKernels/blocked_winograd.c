#include "nsde_kernels.h"
#include "blocked16.h"

#include <stddef.h>

// Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions on oneDNN's blocked layout nChw16c (the
// library's `BlockedWinogradConvolution`): 3x3 kernels, stride 1, channel counts that are multiples
// of 16. Every pixel of a block is one 16-channel vector, so the tile transforms are vector
// operations and the per-position products are 16x16 blocks of broadcast multiply-adds, with no
// layout change.
//
// F(2x2, 3x3) (Lavin and Gray, 2016; F(4x4, 3x3)'s matrices are in its section below):
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   (input tile d, 4x4:  V = Bᵀ d B)
//   G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]             (weights g, 3x3:     U = G g Gᵀ)
//   Aᵀ = [1 1 1 0; 0 1 -1 -1]                       (output tile:        Y = Aᵀ (U ⊙ V) A)
// The weight gradient is the adjoint: dU = Σ_tiles (A dY Aᵀ) ⊙ V, dg = Gᵀ dU G.
//
// The transforms are additions (and, for F(4x4, 3x3), fused multiply-adds by constants) in a fixed
// order, and the products explicit fused multiply-adds in a fixed order over the input channels, so
// every instruction-set level writes the same bits (the baseline computes each fma in software).
#include "clones.h"
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

// MARK: - F(2x2, 3x3) tiles

INLINE void bt4(v16 *a, v16 *b, v16 *c, v16 *d) {
    const v16 r0 = *a - *c, r1 = *b + *c, r2 = *c - *b, r3 = *b - *d;
    *a = r0; *b = r1; *c = r2; *d = r3;
}

// MARK: - Products (either tile)

// m[t][p] = Σ_c v[cb][p][t][c] · u[p][c] for `count` tiles and one position p.
#define PRODUCT(K)                                                                                                   \
    INLINE void product##K(const float *vp, const float *up, int64_t cblocks, int64_t vstride, float *m,              \
                           int64_t mstride) {                                                                         \
        v16 acc[K];                                                                                                   \
        for (int t = 0; t < K; t++) acc[t] = (v16){0};                                                                \
        for (int64_t cb = 0; cb < cblocks; cb++) {                                                                    \
            const float *vc = vp + cb * vstride, *uc = up + cb * 256;                                                 \
            for (int c = 0; c < 16; c++) {                                                                            \
                const v16 u = LOADV(uc + c * 16);                                                                     \
                for (int t = 0; t < K; t++) acc[t] = FMA(SPLAT(vc[t * 16 + c]), u, acc[t]);                           \
            }                                                                                                         \
        }                                                                                                             \
        for (int t = 0; t < K; t++) STOREV(m + t * mstride, acc[t]);                                                  \
    }
PRODUCT(1) PRODUCT(2) PRODUCT(3) PRODUCT(4) PRODUCT(5) PRODUCT(6) PRODUCT(7) PRODUCT(8)

// m[t · mstride] for the tiles t < count (at most GROUP).
INLINE void product(int64_t count, const float *vp, const float *up, int64_t cblocks, int64_t vstride, float *m,
                    int64_t mstride) {
    switch (count) {
    case 8: product8(vp, up, cblocks, vstride, m, mstride); break;
    case 7: product7(vp, up, cblocks, vstride, m, mstride); break;
    case 6: product6(vp, up, cblocks, vstride, m, mstride); break;
    case 5: product5(vp, up, cblocks, vstride, m, mstride); break;
    case 4: product4(vp, up, cblocks, vstride, m, mstride); break;
    case 3: product3(vp, up, cblocks, vstride, m, mstride); break;
    case 2: product2(vp, up, cblocks, vstride, m, mstride); break;
    default: product1(vp, up, cblocks, vstride, m, mstride); break;
    }
}

// Y = Aᵀ M A + bias for the tile whose 16 products are at q[p · 16], written at output row 2·ty,
// column xx (clipped at the edges).
INLINE void output_tile2(const float *q, float *yb, int64_t ty, int64_t xx, int64_t out_height, int64_t out_width,
                         const v16 *bias) {
    const v16 b = *bias;
    v16 m[16];
    for (int p = 0; p < 16; p++) m[p] = LOADV(q + p * 16);
    v16 r[2][4];
    for (int j = 0; j < 4; j++) {
        r[0][j] = (m[j] + m[4 + j]) + m[8 + j];
        r[1][j] = (m[4 + j] - m[8 + j]) - m[12 + j];
    }
    for (int i = 0; i < 2 && 2 * ty + i < out_height; i++) {
        float *row = yb + ((2 * ty + i) * out_width + xx) * 16;
        STOREV(row, ((r[i][0] + r[i][1]) + r[i][2]) + b);
        if (xx + 1 < out_width) STOREV(row + 16, ((r[i][1] - r[i][2]) - r[i][3]) + b);
    }
}

// A along one line of 2 vectors: 4 outputs (the adjoint of F(2x2, 3x3)'s Aᵀ).
INLINE void a2(const v16 *e, v16 *c) {
    c[0] = e[0];
    c[1] = e[0] + e[1];
    c[2] = e[0] - e[1];
    c[3] = -e[1];
}

// MARK: - F(4x4, 3x3)
//
//   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// 36 products per 16 outputs instead of F(2x2, 3x3)'s 64; the weight transforms run in double.

INLINE int64_t tiles4(int64_t n) { return (n + 3) / 4; }

int64_t nsde_wino4_scratch_floats(int64_t in_channels, int64_t out_channels, int64_t out_width) {
    return (in_channels + out_channels) * 36 * tiles_padded(tiles4(out_width)) + GROUP * 576;
}

static const double g4[6][3] = {{0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

void nsde_wino4_weights(const float *w, int64_t out_channels, int64_t in_channels, int backward_data, float *u) {
    const int64_t rows = backward_data ? out_channels : in_channels;
    for (int64_t o = 0; o < out_channels; o++) {
        for (int64_t c = 0; c < in_channels; c++) {
            const float *g = w + (o * in_channels + c) * 9;
            double k[9], t[6][3];
            for (int i = 0; i < 9; i++) k[i] = backward_data ? g[8 - i] : g[i];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 3; j++) t[i][j] = g4[i][0] * k[j] + g4[i][1] * k[3 + j] + g4[i][2] * k[6 + j];
            const int64_t col = backward_data ? c : o, row = backward_data ? o : c;
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 6; j++) {
                    const double r = t[i][0] * g4[j][0] + t[i][1] * g4[j][1] + t[i][2] * g4[j][2];
                    u[(((col / 16) * 36 + i * 6 + j) * rows + row) * 16 + col % 16] = (float)r;
                }
            }
        }
    }
}

void nsde_wino4_weight_gradient(const float *du, int64_t out_channels, int64_t in_channels, float *dw) {
    for (int64_t o = 0; o < out_channels; o++) {
        for (int64_t c = 0; c < in_channels; c++) {
            double m[6][6], t[3][6];
            for (int p = 0; p < 36; p++) m[p / 6][p % 6] = du[(p * in_channels + c) * out_channels + o];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 6; j++) {
                    double s = 0;
                    for (int k = 0; k < 6; k++) s += g4[k][i] * m[k][j];
                    t[i][j] = s;
                }
            float *g = dw + (o * in_channels + c) * 9;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    double s = 0;
                    for (int k = 0; k < 6; k++) s += t[i][k] * g4[k][j];
                    g[i * 3 + j] = (float)s;
                }
        }
    }
}

// Bᵀ along one line of 6 vectors, in place.
INLINE void bt6(v16 *d0, v16 *d1, v16 *d2, v16 *d3, v16 *d4, v16 *d5) {
    const v16 four = SPLAT(4.0f), mfive = SPLAT(-5.0f), two = SPLAT(2.0f);
    const v16 a = *d3 + *d4, b = *d1 + *d2, c = *d4 - *d3, e = *d1 - *d2, f = *d4 - *d2, h = *d3 - *d1;
    const v16 r0 = FMA(four, *d0, FMA(mfive, *d2, *d4));
    const v16 r1 = FMA(-four, b, a), r2 = FMA(four, e, c);
    const v16 r3 = FMA(two, h, f), r4 = FMA(-two, h, f);
    const v16 r5 = FMA(four, *d1, FMA(mfive, *d3, *d5));
    *d0 = r0; *d1 = r1; *d2 = r2; *d3 = r3; *d4 = r4; *d5 = r5;
}

// Aᵀ along one line of 6 vectors: 4 outputs. (Vectors by pointer: a vector argument wider than
// the baseline's registers would change the calling convention between the clones.)
INLINE void at6(const v16 *m, v16 *o) {
    const v16 a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], e = m[3] - m[4];
    o[0] = (m[0] + a) + c;
    o[1] = FMA(SPLAT(2.0f), e, b);
    o[2] = FMA(SPLAT(4.0f), c, a);
    o[3] = FMA(SPLAT(8.0f), e, b) + m[5];
}

// Y = Aᵀ M A + bias for the tile whose 36 products are at q[p · 16], written at output row 4·ty,
// column xx (clipped at the edges).
INLINE void output_tile4(const float *q, float *yb, int64_t ty, int64_t xx, int64_t out_height, int64_t out_width,
                         const v16 *bias) {
    const v16 b = *bias;
    v16 r[4][6];
    for (int j = 0; j < 6; j++) {
        v16 column[6], o[4];
        for (int i = 0; i < 6; i++) column[i] = LOADV(q + (6 * i + j) * 16);
        at6(column, o);
        for (int i = 0; i < 4; i++) r[i][j] = o[i];
    }
    for (int i = 0; i < 4 && 4 * ty + i < out_height; i++) {
        v16 o[4];
        at6(r[i], o);
        float *row = yb + ((4 * ty + i) * out_width + xx) * 16;
        for (int j = 0; j < 4 && xx + j < out_width; j++) STOREV(row + j * 16, o[j] + b);
    }
}

// A along one line of 4 vectors: 6 outputs (the adjoint of at6).
INLINE void a4(const v16 *e, v16 *c) {
    const v16 s = e[0] + e[2], d = e[1] + e[3], s4 = FMA(SPLAT(4.0f), e[2], e[0]), d8 = FMA(SPLAT(4.0f), e[3], e[1]);
    c[0] = e[0];
    c[1] = s + d;
    c[2] = s - d;
    c[3] = FMA(SPLAT(2.0f), d8, s4);
    c[4] = FMA(SPLAT(-2.0f), d8, s4);
    c[5] = e[3];
}

// MARK: - The passes, for either tile (`size` 2 or 4, a constant once inlined)

// V[cb][p][t][16] for the tiles of output-tile row ty: the (size + 2)² input patches at rows
// size·ty − pad + i, columns size·t − pad + j (zero outside the image), Bᵀ d B. Tiles tw..<twp are zero.
INLINE void input_transform(int size, const float *x, int64_t cblocks, int64_t h, int64_t w, int64_t pad, int64_t ty,
                            int64_t tw, int64_t twp, float *v) {
    const int n = size + 2;
    const int64_t y0 = size * ty - pad;
    const int rows_inside = y0 >= 0 && y0 + n <= h;
    for (int64_t cb = 0; cb < cblocks; cb++) {
        const float *xs = x + cb * h * w * 16;
        float *vb = v + cb * n * n * twp * 16;
        for (int64_t t = 0; t < twp; t++) {
            v16 d[6][6];
            const int64_t x0 = size * t - pad;
            if (t < tw && rows_inside && x0 >= 0 && x0 + n <= w) {
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) d[i][j] = LOADV(xs + ((y0 + i) * w + x0 + j) * 16);
            } else {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        const int64_t yy = y0 + i, xx = x0 + j;
                        d[i][j] = (t < tw && yy >= 0 && yy < h && xx >= 0 && xx < w) ? LOADV(xs + (yy * w + xx) * 16) : (v16){0};
                    }
                }
            }
            if (size == 2) {
                for (int j = 0; j < 4; j++) bt4(&d[0][j], &d[1][j], &d[2][j], &d[3][j]);
                for (int i = 0; i < 4; i++) bt4(&d[i][0], &d[i][1], &d[i][2], &d[i][3]);
            } else {
                for (int j = 0; j < 6; j++) bt6(&d[0][j], &d[1][j], &d[2][j], &d[3][j], &d[4][j], &d[5][j]);
                for (int i = 0; i < 6; i++) bt6(&d[i][0], &d[i][1], &d[i][2], &d[i][3], &d[i][4], &d[i][5]);
            }
            for (int p = 0; p < n * n; p++) STOREV(vb + (p * twp + t) * 16, d[p / n][p % n]);
        }
    }
}

// D[ob][p][t][16] = A dY Aᵀ for the size x size output-gradient tiles of row ty (zero past the edges).
INLINE void gradient_transform(int size, const float *dy, int64_t oblocks, int64_t out_height, int64_t out_width,
                               int64_t ty, int64_t tw, int64_t twp, float *d) {
    const int n = size + 2;
    for (int64_t ob = 0; ob < oblocks; ob++) {
        const float *gs = dy + ob * out_height * out_width * 16;
        float *db = d + ob * n * n * twp * 16;
        for (int64_t t = 0; t < twp; t++) {
            v16 e[4][4];
            for (int i = 0; i < size; i++) {
                for (int j = 0; j < size; j++) {
                    const int64_t yy = size * ty + i, xx = size * t + j;
                    e[i][j] = (t < tw && yy < out_height && xx < out_width) ? LOADV(gs + (yy * out_width + xx) * 16) : (v16){0};
                }
            }
            v16 c[6][4];
            for (int j = 0; j < size; j++) {
                v16 column[4] = {e[0][j], e[1][j], e[2][j], e[3][j]}, o[6];
                if (size == 2) a2(column, o); else a4(column, o);
                for (int i = 0; i < n; i++) c[i][j] = o[i];
            }
            for (int i = 0; i < n; i++) {
                v16 o[6];
                if (size == 2) a2(c[i], o); else a4(c[i], o);
                for (int j = 0; j < n; j++) STOREV(db + ((i * n + j) * twp + t) * 16, o[j]);
            }
        }
    }
}

// The tiling of a pass: tile positions, channel blocks, tile rows and tiles per row (padded to whole
// groups for the buffers' strides).
typedef struct {
    int positions;
    int64_t cblocks, oblocks, th, tw, twp;
} tiling;

INLINE tiling make_tiling(int size, int64_t in_channels, int64_t out_channels, int64_t out_height, int64_t out_width) {
    const int64_t tw = (out_width + size - 1) / size;
    return (tiling){(size + 2) * (size + 2), in_channels / 16, out_channels / 16, (out_height + size - 1) / size, tw,
                    tiles_padded(tw)};
}

INLINE void convolve(int size, const float *x, int64_t batch_begin, int64_t batch_end, int64_t in_channels, int64_t height,
                     int64_t width, const float *u, const float *bias, int64_t out_channels, int64_t out_height,
                     int64_t out_width, int64_t pad, float *y, float *scratch) {
    const tiling g = make_tiling(size, in_channels, out_channels, out_height, out_width);
    const int positions = g.positions;
    const int64_t cblocks = g.cblocks, oblocks = g.oblocks, th = g.th, tw = g.tw, twp = g.twp;
    float *v = scratch, *m = scratch + cblocks * positions * twp * 16;
    for (int64_t n = batch_begin; n < batch_end; n++) {
        const float *xn = x + n * in_channels * height * width;
        for (int64_t ty = 0; ty < th; ty++) {
            input_transform(size, xn, cblocks, height, width, pad, ty, tw, twp, v);
            for (int64_t ob = 0; ob < oblocks; ob++) {
                const v16 b = bias ? LOADV(bias + ob * 16) : (v16){0};
                float *yb = y + (n * oblocks + ob) * out_height * out_width * 16;
                for (int64_t t0 = 0; t0 < tw; t0 += GROUP) {
                    const int64_t count = tw - t0 < GROUP ? tw - t0 : GROUP;
                    for (int p = 0; p < positions; p++)
                        product(count, v + (p * twp + t0) * 16, u + (ob * positions + p) * in_channels * 16, cblocks,
                                positions * twp * 16, m + p * 16, positions * 16);
                    for (int64_t t = 0; t < count; t++) {
                        if (size == 2) output_tile2(m + t * 256, yb, ty, 2 * (t0 + t), out_height, out_width, &b);
                        else output_tile4(m + t * 576, yb, ty, 4 * (t0 + t), out_height, out_width, &b);
                    }
                }
            }
        }
    }
}

INLINE void weight_gradient(int size, const float *x, const float *dy, int64_t batch_begin, int64_t batch_end,
                            int64_t in_channels, int64_t height, int64_t width, int64_t out_channels, int64_t out_height,
                            int64_t out_width, int64_t pad, float *du, float *dbias, float *scratch) {
    const tiling g = make_tiling(size, in_channels, out_channels, out_height, out_width);
    const int positions = g.positions;
    const int64_t cblocks = g.cblocks, oblocks = g.oblocks, th = g.th, tw = g.tw, twp = g.twp;
    float *v = scratch, *d = scratch + cblocks * positions * twp * 16;
    for (int64_t n = batch_begin; n < batch_end; n++) {
        const float *xn = x + n * in_channels * height * width;
        const float *gn = dy + n * out_channels * out_height * out_width;
        for (int64_t ty = 0; ty < th; ty++) {
            input_transform(size, xn, cblocks, height, width, pad, ty, tw, twp, v);
            gradient_transform(size, gn, oblocks, out_height, out_width, ty, tw, twp, d);
            // dU[p][c][o] += Σ_t V[p][t][c] · D[p][t][o], 16x16 blocks of (c, o) in registers.
            for (int p = 0; p < positions; p++) {
                for (int64_t cb = 0; cb < cblocks; cb++) {
                    const float *vp = v + (cb * positions + p) * twp * 16;
                    for (int64_t ob = 0; ob < oblocks; ob++) {
                        const float *dp = d + (ob * positions + p) * twp * 16;
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

#define PASSES(NAME, SIZE)                                                                                             \
    void NSDE_CLONES nsde_##NAME##_forward(const float *x, int64_t batch_begin, int64_t batch_end, int64_t in_channels, \
                                           int64_t height, int64_t width, const float *u, const float *bias,          \
                                           int64_t out_channels, int64_t out_height, int64_t out_width, int64_t pad,  \
                                           float *y, float *scratch) {                                                \
        convolve(SIZE, x, batch_begin, batch_end, in_channels, height, width, u, bias, out_channels, out_height,      \
                 out_width, pad, y, scratch);                                                                         \
    }                                                                                                                 \
    void NSDE_CLONES nsde_##NAME##_backward_weights(const float *x, const float *dy, int64_t batch_begin,             \
                                                    int64_t batch_end, int64_t in_channels, int64_t height,           \
                                                    int64_t width, int64_t out_channels, int64_t out_height,          \
                                                    int64_t out_width, int64_t pad, float *du, float *dbias,          \
                                                    float *scratch) {                                                 \
        weight_gradient(SIZE, x, dy, batch_begin, batch_end, in_channels, height, width, out_channels, out_height,     \
                        out_width, pad, du, dbias, scratch);                                                          \
    }
PASSES(wino2, 2)
PASSES(wino4, 4)

#include "nsde_kernels.h"

#include <stddef.h>

// The tile transforms of the Winograd F(4x4, 3x3) convolution (the library's
// `WinogradConvolution`), compiled once per instruction-set level like the kernels in kernels.c.
// Eight tiles are transformed at a time, one vector lane per tile: a single AVX register on AVX2
// and AVX-512 processors, two SSE registers on the baseline. Plain multiplies and adds in a fixed
// order, no FMA contraction, so every level writes the same bits.
#include "clones.h"

typedef float v4 __attribute__((vector_size(16)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));

// Unaligned vector loads and stores. Macros, not functions: a vector argument or result wider
// than the baseline's registers would change the calling convention between the clones.
#define LOAD(type, p) ({ type _v; __builtin_memcpy(&_v, (p), sizeof _v); _v; })
#define STORE(p, v) do { __typeof__(v) _v = (v); __builtin_memcpy((p), &_v, sizeof _v); } while (0)

INLINE int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// MARK: - Image rows <-> phases modulo 4
//
// Chunks of 16 pixels (4 tiles) inside the row move as whole vectors, straight from and to the
// image; the chunks at the row's ends (padding, or past the width) move one float at a time.
// Copying the row into a padded buffer first and loading it back as vectors made every such load
// wait for the stores it overlaps (a failed store-to-load forward), a fifth of the input
// transform's time.

// d[q * L + t] = src[4t + q - pad] (zero outside 0..<width) for q in 0..<4, t in 0..<count (a
// multiple of 4).
INLINE void deinterleave(const float *restrict src, int64_t width, int64_t pad, float *restrict d, int64_t L,
                         int64_t count) {
    for (int64_t t = 0; t < count; t += 4) {
        const int64_t first = 4 * t - pad;
        if (first >= 0 && first + 16 <= width) {
            v16 v = LOAD(v16, src + first);
            v4 p0 = __builtin_shufflevector(v, v, 0, 4, 8, 12), p1 = __builtin_shufflevector(v, v, 1, 5, 9, 13);
            v4 p2 = __builtin_shufflevector(v, v, 2, 6, 10, 14), p3 = __builtin_shufflevector(v, v, 3, 7, 11, 15);
            STORE(d + t, p0); STORE(d + L + t, p1); STORE(d + 2 * L + t, p2); STORE(d + 3 * L + t, p3);
        } else {
            for (int64_t k = 0; k < 16; k++) {
                const int64_t i = first + k;
                d[(k & 3) * L + t + (k >> 2)] = (i >= 0 && i < width) ? src[i] : 0.0f;
            }
        }
    }
}

// dst[4t + q] = s[q * L + t] for 4t + q < width.
INLINE void interleave(const float *restrict s, int64_t L, int64_t count, float *restrict dst, int64_t width) {
    for (int64_t t = 0; t < count && 4 * t < width; t += 4) {
        v4 a = LOAD(v4, s + t), b = LOAD(v4, s + L + t), c = LOAD(v4, s + 2 * L + t), d = LOAD(v4, s + 3 * L + t);
        v8 ac = __builtin_shufflevector(a, c, 0, 4, 1, 5, 2, 6, 3, 7);
        v8 bd = __builtin_shufflevector(b, d, 0, 4, 1, 5, 2, 6, 3, 7);
        v16 r = __builtin_shufflevector(ac, bd, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        if (4 * t + 16 <= width) {
            STORE(dst + 4 * t, r);
        } else {
            for (int64_t k = 0; 4 * t + k < width; k++) dst[4 * t + k] = r[k];
        }
    }
}

// MARK: - 1-D transforms (points 0, ±1, ±h, ∞; s = h²)

// Bᵀ d: the input transform of 6 values.
INLINE void input_1d(const v8 *d, float h, float s, v8 *r) {
    const v8 d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5];
    v8 a = d4 - s * d2, b = d3 - s * d1, c = d4 - d2, f = d3 - d1, e = h * f;
    r[0] = c + s * (d0 - d2); r[1] = a + b; r[2] = a - b; r[3] = c + e; r[4] = c - e; r[5] = (d5 - d3) - s * f;
}

// Aᵀ m: the output transform of 6 values into 4.
INLINE void output_1d(const v8 *m, float h, float h2, float h3, v8 *r) {
    const v8 m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5];
    v8 p = m1 + m2, q = m1 - m2, u = m3 + m4, t = m3 - m4;
    r[0] = (m0 + p) + u; r[1] = q + h * t; r[2] = p + h2 * u; r[3] = (q + h3 * t) + m5;
}

// A y: the transform of 4 output-gradient values into 6.
INLINE void gradient_1d(const v8 *y, float h, float h2, float h3, v8 *r) {
    const v8 y0 = y[0], y1 = y[1], y2 = y[2], y3 = y[3];
    v8 a = y0 + y2, b = y1 + y3, c = y0 + h2 * y2, d = h * y1 + h3 * y3;
    r[0] = y0; r[1] = a + b; r[2] = a - b; r[3] = c + d; r[4] = c - d; r[5] = y3;
}

// MARK: - Tile transforms

void NSDE_CLONES nsde_winograd_input(const nsde_winograd_tiling *restrict t, float h, const float *restrict x,
                                     int64_t channels, int64_t row_begin, int64_t row_end, float *restrict v,
                                     int64_t ld, int64_t e_stride, float *restrict rows) {
    const float s = h * h;
    const int64_t L = t->phase_length, L4 = 4 * L, tiles_w = t->tiles_w, tiles_h = t->tiles_h, e6 = 6 * e_stride;
    const int64_t plane = t->height * t->width, pad = t->padding;
    const int64_t count = (tiles_w + 7) / 8 * 8 + 4;   // tiles rounded up to 8, plus 1, rounded up to 4
    const int64_t offsets[6] = { 0, L, 2 * L, 3 * L, 1, L + 1 };   // column j: phase j % 4, shifted j / 4 tiles
    for (int64_t c = 0; c < channels; c++) {
        int64_t row = row_begin;
        while (row < row_end) {
            // Tile rows th0..<th1 of image n; their input rows overlap by 2, so they are
            // deinterleaved once: local row r is image row 4 th0 - pad + r.
            const int64_t n = row / tiles_h, th0 = row - n * tiles_h;
            const int64_t th1 = min64(tiles_h, th0 + row_end - row);
            const float *src = x + (n * channels + c) * plane;
            for (int64_t r = 0; r < 4 * (th1 - th0) + 2; r++) {
                const int64_t ih = 4 * th0 - pad + r;
                if (ih >= 0 && ih < t->height) {
                    deinterleave(src + ih * t->width, t->width, pad, rows + r * L4, L, count);
                } else {
                    __builtin_memset(rows + r * L4, 0, (size_t)L4 * sizeof(float));
                }
            }
            for (int64_t th = th0; th < th1; th++) {
                const float *base = rows + 4 * (th - th0) * L4;
                float *out = v + c * ld + (row + th - th0 - row_begin) * tiles_w;
                for (int64_t tw = 0; tw < tiles_w; tw += 8) {
                    v8 tmp[36], r[6];
                    for (int j = 0; j < 6; j++) {
                        const float *col = base + tw + offsets[j];
                        const v8 d[6] = { LOAD(v8, col), LOAD(v8, col + L4), LOAD(v8, col + 2 * L4),
                                          LOAD(v8, col + 3 * L4), LOAD(v8, col + 4 * L4), LOAD(v8, col + 5 * L4) };
                        input_1d(d, h, s, r);
                        for (int i = 0; i < 6; i++) tmp[6 * i + j] = r[i];
                    }
                    for (int i = 0; i < 6; i++) {
                        input_1d(tmp + 6 * i, h, s, r);
                        float *o = out + tw + i * e6;
                        for (int k = 0; k < 6; k++) STORE(o + k * e_stride, r[k]);
                    }
                }
            }
            row += th1 - th0;
        }
    }
}

void NSDE_CLONES nsde_winograd_gradient(const nsde_winograd_tiling *restrict t, float h, const float *restrict dy,
                                        int64_t channels, int64_t row_begin, int64_t row_end, float *restrict z,
                                        int64_t ld, int64_t e_stride, float *restrict rows) {
    const float h2 = h * h, h3 = h * h * h;
    const int64_t L = t->phase_length, L4 = 4 * L, tiles_w = t->tiles_w, tiles_h = t->tiles_h, e6 = 6 * e_stride;
    const int64_t out_h = t->out_height, out_w = t->out_width, plane = out_h * out_w;
    const int64_t count = (tiles_w + 7) / 8 * 8;
    for (int64_t o = 0; o < channels; o++) {
        for (int64_t row = row_begin; row < row_end; row++) {
            const int64_t n = row / tiles_h, th = row - n * tiles_h;
            const float *src = dy + (n * channels + o) * plane;
            for (int64_t a = 0; a < 4; a++) {
                const int64_t oh = 4 * th + a;
                if (oh < out_h) {
                    deinterleave(src + oh * out_w, out_w, 0, rows + a * L4, L, count);
                } else {
                    __builtin_memset(rows + a * L4, 0, (size_t)L4 * sizeof(float));
                }
            }
            float *out = z + o * ld + (row - row_begin) * tiles_w;
            for (int64_t tw = 0; tw < tiles_w; tw += 8) {
                v8 tmp[36], r[6];
                for (int b = 0; b < 4; b++) {
                    const float *col = rows + tw + b * L;
                    const v8 y[4] = { LOAD(v8, col), LOAD(v8, col + L4), LOAD(v8, col + 2 * L4), LOAD(v8, col + 3 * L4) };
                    gradient_1d(y, h, h2, h3, r);
                    for (int i = 0; i < 6; i++) tmp[6 * i + b] = r[i];
                }
                for (int i = 0; i < 6; i++) {
                    gradient_1d(tmp + 6 * i, h, h2, h3, r);
                    float *p = out + tw + i * e6;
                    for (int k = 0; k < 6; k++) STORE(p + k * e_stride, r[k]);
                }
            }
        }
    }
}

void NSDE_CLONES nsde_winograd_output(const nsde_winograd_tiling *restrict t, float h, const float *restrict m,
                                      int64_t ld, int64_t e_stride, int64_t channels, int64_t row_begin,
                                      int64_t row_end, const float *restrict bias, float *restrict y,
                                      float *restrict rows) {
    const float h2 = h * h, h3 = h * h * h;
    const int64_t L = t->phase_length, L4 = 4 * L, tiles_w = t->tiles_w, tiles_h = t->tiles_h;
    const int64_t out_h = t->out_height, out_w = t->out_width, plane = out_h * out_w;
    float *ph = rows;   // ph[(4a + b) L + tw] = y[4 th + a][4 tw + b]
    for (int64_t o = 0; o < channels; o++) {
        const float bo = bias ? bias[o] : 0.0f;
        const v8 b8 = { bo, bo, bo, bo, bo, bo, bo, bo };
        for (int64_t row = row_begin; row < row_end; row++) {
            const int64_t n = row / tiles_h, th = row - n * tiles_h;
            const float *src = m + o * ld + (row - row_begin) * tiles_w;
            for (int64_t tw = 0; tw < tiles_w; tw += 8) {
                v8 tmp[24], r[4];
                const float *col = src + tw;
                for (int j = 0; j < 6; j++) {
                    const v8 mm[6] = { LOAD(v8, col + j * e_stride), LOAD(v8, col + (6 + j) * e_stride),
                                       LOAD(v8, col + (12 + j) * e_stride), LOAD(v8, col + (18 + j) * e_stride),
                                       LOAD(v8, col + (24 + j) * e_stride), LOAD(v8, col + (30 + j) * e_stride) };
                    output_1d(mm, h, h2, h3, r);
                    for (int a = 0; a < 4; a++) tmp[6 * a + j] = r[a];
                }
                for (int a = 0; a < 4; a++) {
                    output_1d(tmp + 6 * a, h, h2, h3, r);
                    float *p = ph + tw + a * L4;
                    for (int b = 0; b < 4; b++) STORE(p + b * L, r[b] + b8);
                }
            }
            // Interleave the phases into the output rows, cropping at the image border.
            float *dst = y + (n * channels + o) * plane + 4 * th * out_w;
            const int64_t a_end = min64(4, out_h - 4 * th);
            for (int64_t a = 0; a < a_end; a++) interleave(ph + a * L4, L, tiles_w, dst + a * out_w, out_w);
        }
    }
}

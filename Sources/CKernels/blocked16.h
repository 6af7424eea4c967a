// Shared by the kernels that read or write oneDNN's blocked layout nChw16c (normalization.c,
// blocked_layout.c): 16-float vectors and a 16x16 transpose. Pure data movement, so every
// instruction-set level moves the same bits.
#ifndef NSDE_BLOCKED16_H
#define NSDE_BLOCKED16_H

#include <stdint.h>

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t i16v __attribute__((vector_size(64)));

// Transposes the 16x16 matrix whose rows are v[0..15], in place (four perfect shuffles).
static inline __attribute__((always_inline)) void transpose16(v16 *v) {
    for (int stage = 0; stage < 4; stage++) {
        v16 out[16];
        for (int k = 0; k < 8; k++) {
            out[2 * k] = __builtin_shufflevector(v[k], v[k + 8], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            out[2 * k + 1] = __builtin_shufflevector(v[k], v[k + 8], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                                     15, 31);
        }
        for (int k = 0; k < 16; k++) v[k] = out[k];
    }
}

// Unaligned 16-float loads and stores.
#define LOADV(p) (*(const v16u *)(p))
#define STOREV(p, v) (*(v16u *)(p) = (v))

// One 16x16 tile: 16 pixels from s0 of the 16 channel rows at `rows` (row length hw) into
// v[channel], and v[pixel] out to the 16 pixel vectors of a block at `pixels`, or the reverse.
static inline __attribute__((always_inline)) void load_channel_rows(const float *rows, int64_t hw, int64_t s0, v16 *v) {
    for (int j = 0; j < 16; j++) v[j] = LOADV(rows + j * hw + s0);
}
static inline __attribute__((always_inline)) void store_pixels(const v16 *v, float *pixels, int64_t s0) {
    for (int k = 0; k < 16; k++) STOREV(pixels + (s0 + k) * 16, v[k]);
}
static inline __attribute__((always_inline)) void load_pixels(const float *pixels, int64_t s0, v16 *v) {
    for (int k = 0; k < 16; k++) v[k] = LOADV(pixels + (s0 + k) * 16);
}

#endif

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

#endif

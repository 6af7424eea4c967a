#include "nsde_kernels.h"
#include "blocked16.h"
#include <stddef.h>

// Euler–Maruyama updates of a state kept in oneDNN's nChw16c whose Brownian increments stay in
// NCHW order (the order in which the Philox stream fills them, so every element keeps the noise
// it has in an NCHW solve): each 16x16 tile of increments is transposed in registers as it is
// read. The operations are those of the NCHW kernels in kernels.c (nsde_adding_scaled,
// nsde_adding_product_affine, nsde_product_affine, and a product), element for element, so the
// same inputs give the same bits.
#include "clones.h"

// The increments of the 16 channels of a unit at pixels s0 ..< s0 + count (count ≤ 16), one
// vector per pixel: a transposed tile for 16 pixels, gathered element by element for fewer.
static inline __attribute__((always_inline)) void load_increments(const float *rows, int64_t hw, int64_t s0, int64_t count,
                                                                  v16 *w) {
    if (count == 16) {
        load_channel_rows(rows, hw, s0, w);
        transpose16(w);
        return;
    }
    for (int64_t k = 0; k < count; k++) {
        for (int j = 0; j < 16; j++) w[k][j] = rows[j * hw + s0 + k];
    }
}

// Runs the statements for every pixel of the units unit_begin ..< unit_end (of a kernel with
// `dw`, `channels` and `hw` in scope), with `p`, the pixel's offset in floats in the nChw16c
// tensors, and `wk`, the increments of its 16 channels.
#define FOR_EACH_BLOCKED_PIXEL(...)                                                          \
    const int64_t blocks = channels / 16;                                                   \
    for (int64_t unit = unit_begin; unit < unit_end; unit++) {                               \
        const float *rows = dw + ((unit / blocks) * channels + (unit % blocks) * 16) * hw;   \
        for (int64_t s0 = 0; s0 < hw; s0 += 16) {                                            \
            const int64_t count = hw - s0 < 16 ? hw - s0 : 16;                               \
            v16 w[16];                                                                       \
            load_increments(rows, hw, s0, count, w);                                         \
            for (int64_t k = 0; k < count; k++) {                                            \
                const int64_t p = (unit * hw + s0 + k) * 16;                                 \
                const v16 wk = w[k];                                                         \
                __VA_ARGS__                                                                  \
            }                                                                                \
        }                                                                                    \
    }

void NSDE_CLONES nsde_em_update_blocked(nsde_blocked_noise noise, const float *restrict y, const float *restrict f,
                                        const float *restrict dw, float *restrict out, int64_t unit_begin,
                                        int64_t unit_end, int64_t channels, int64_t hw, float dt, float sigma) {
    const v16 h = (v16){0} + dt, s = (v16){0} + sigma;
    FOR_EACH_BLOCKED_PIXEL(
        const v16 yv = LOADV(y + p), fv = LOADV(f + p);
        v16 r;
        switch (noise) {
        case NSDE_BLOCKED_ADDITIVE: r = (yv + h * fv) + s * wk; break;
        case NSDE_BLOCKED_MULTIPLICATIVE: r = (yv + h * fv) + s * (yv * wk); break;
        default: r = yv + fv * (wk * s + h); break;
        }
        STOREV(out + p, r);
    )
}

void NSDE_CLONES nsde_em_pullback_blocked(nsde_blocked_noise noise, const float *restrict a, const float *restrict dw,
                                          float *restrict state, float *restrict drift, int64_t unit_begin,
                                          int64_t unit_end, int64_t channels, int64_t hw, float dt, float sigma) {
    const v16 h = (v16){0} + dt, s = (v16){0} + sigma;
    FOR_EACH_BLOCKED_PIXEL(
        const v16 av = LOADV(a + p);
        if (noise == NSDE_BLOCKED_MULTIPLICATIVE) {
            STOREV(state + p, av + (av * s) * wk);
            if (drift) STOREV(drift + p, av * h);
        } else if (noise == NSDE_BLOCKED_DROPOUT) {
            STOREV(drift + p, av * (wk * s + h));
        }
    )
}

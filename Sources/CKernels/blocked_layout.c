#include "nsde_kernels.h"
#include "blocked16.h"
#include <stddef.h>

// Conversions between NCHW and oneDNN's nChw16c for channel counts that are multiples of 16:
// element (n, c, s) of a [N, C, H·W] tensor sits at ((n·C/16 + c/16)·hw + s)·16 + c mod 16 in
// nChw16c. 16 pixels of 16 channels go through one in-register transpose. The optional
// broadcast addition and batch sums are the operations of the separate passes they replace
// (one IEEE addition per element; sums in double in batch order), so the values are the same bits.
#include "clones.h"

void NSDE_CLONES nsde_unblock16(const float *restrict src, float *restrict dst, int64_t unit_begin, int64_t unit_end,
                                int64_t channels, int64_t hw, const float *restrict addend) {
    const int64_t blocks = channels / 16;
    for (int64_t unit = unit_begin; unit < unit_end; unit++) {
        const int64_t n = unit / blocks, cb = unit % blocks;
        const float *from = src + unit * hw * 16;
        float *to = dst + (n * channels + cb * 16) * hw;
        const float *add = addend ? addend + cb * 16 * hw : NULL;
        int64_t s0 = 0;
        for (; s0 + 16 <= hw; s0 += 16) {
            v16 v[16];
            load_pixels(from, s0, v);
            transpose16(v);
            if (add) {
                for (int j = 0; j < 16; j++) STOREV(to + j * hw + s0, v[j] + LOADV(add + j * hw + s0));
            } else {
                for (int j = 0; j < 16; j++) STOREV(to + j * hw + s0, v[j]);
            }
        }
        for (; s0 < hw; s0++) {
            for (int j = 0; j < 16; j++) to[j * hw + s0] = add ? from[s0 * 16 + j] + add[j * hw + s0] : from[s0 * 16 + j];
        }
    }
}

void NSDE_CLONES nsde_block16(const float *restrict src, float *restrict dst, int64_t unit_begin, int64_t unit_end,
                              int64_t channels, int64_t hw) {
    const int64_t blocks = channels / 16;
    for (int64_t unit = unit_begin; unit < unit_end; unit++) {
        const int64_t n = unit / blocks, cb = unit % blocks;
        const float *from = src + (n * channels + cb * 16) * hw;
        float *to = dst + unit * hw * 16;
        int64_t s0 = 0;
        for (; s0 + 16 <= hw; s0 += 16) {
            v16 v[16];
            load_channel_rows(from, hw, s0, v);
            transpose16(v);
            store_pixels(v, to, s0);
        }
        for (; s0 < hw; s0++) {
            for (int j = 0; j < 16; j++) to[s0 * 16 + j] = from[j * hw + s0];
        }
    }
}

void NSDE_CLONES nsde_block16_summing(const float *restrict src, float *restrict dst, int64_t batch, int64_t channels,
                                      int64_t hw, int64_t block, int64_t pixel_begin, int64_t pixel_end,
                                      float *restrict sums) {
    // Runs of 128 pixels (their 16 x 128 double sums stay in L1), each through every sample.
    enum { RUN = 128 };
    const int64_t blocks = channels / 16;
    double acc[16 * RUN];
    for (int64_t r0 = pixel_begin; r0 < pixel_end; r0 += RUN) {
        const int64_t r1 = pixel_end - r0 < RUN ? pixel_end : r0 + RUN, width = r1 - r0;
        for (int64_t i = 0; i < 16 * width; i++) acc[i] = 0;
        for (int64_t n = 0; n < batch; n++) {
            const float *from = src + (n * channels + block * 16) * hw;
            float *to = dst + (n * blocks + block) * hw * 16;
            int64_t s0 = r0;
            for (; s0 + 16 <= r1; s0 += 16) {
                v16 v[16];
                load_channel_rows(from, hw, s0, v);
                for (int j = 0; j < 16; j++) {
                    double *a = acc + j * width + (s0 - r0);
                    for (int l = 0; l < 16; l++) a[l] += (double)v[j][l];
                }
                transpose16(v);
                store_pixels(v, to, s0);
            }
            for (; s0 < r1; s0++) {
                for (int j = 0; j < 16; j++) {
                    to[s0 * 16 + j] = from[j * hw + s0];
                    acc[j * width + (s0 - r0)] += (double)from[j * hw + s0];
                }
            }
        }
        for (int j = 0; j < 16; j++) for (int64_t i = 0; i < width; i++) sums[(block * 16 + j) * hw + r0 + i] = (float)acc[j * width + i];
    }
}

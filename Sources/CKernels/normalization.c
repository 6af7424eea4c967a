#include "nsde_kernels.h"
#include "blocked16.h"
#include <math.h>
#include <stddef.h>

// GroupNorm on NCHW and the batch-axis sum, with the operations and their order of the Swift code
// they replaced (NSDETensor's GroupNormKernel with its SIMD8 partial sums, and Reduction.reduce):
// IEEE operations only, no FMA contraction, so every clone writes the same bits as the others and
// as that code (tests compare them).
#include "clones.h"

// MARK: - Sums with 8-lane partial sums

// Eight float lanes: one AVX register, two SSE registers on the baseline; loads and stores
// through an unaligned alias.
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define LOAD8(p) (*(const v8u *)(p))
#define LOAD16(p) (*(const v16u *)(p))

// The 8 lanes of `t` added in order (a pointer: a vector argument would change the calling
// convention between the clones).
static inline __attribute__((always_inline)) float lanes_in_order(const v8 *t) {
    float s = (*t)[0];
    for (int j = 1; j < 8; j++) s += (*t)[j];
    return s;
}

// Σ p[i]: four 8-lane partial sums over 32-element blocks, then 8-element blocks into the first,
// combined lane by lane as (a0 + a1) + (a2 + a3), the 8 lanes added in order, the tail last.
static inline __attribute__((always_inline)) float lane_sum(const float *restrict p, int64_t count) {
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        a0 += LOAD8(p + i); a1 += LOAD8(p + i + 8); a2 += LOAD8(p + i + 16); a3 += LOAD8(p + i + 24);
    }
    for (; i + 8 <= count; i += 8) a0 += LOAD8(p + i);
    const v8 t = (a0 + a1) + (a2 + a3);
    float s = lanes_in_order(&t);
    for (; i < count; i++) s += p[i];
    return s;
}

// Σ (p[i] − mean)², in the order of lane_sum.
static inline __attribute__((always_inline)) float lane_sum_of_squared_deviations(const float *restrict p, int64_t count,
                                                                                 float mean) {
    const v8 m = (v8){0} + mean;
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        v8 d0 = LOAD8(p + i) - m, d1 = LOAD8(p + i + 8) - m, d2 = LOAD8(p + i + 16) - m, d3 = LOAD8(p + i + 24) - m;
        a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3;
    }
    for (; i + 8 <= count; i += 8) { v8 d = LOAD8(p + i) - m; a0 += d * d; }
    const v8 t = (a0 + a1) + (a2 + a3);
    float s = lanes_in_order(&t);
    for (; i < count; i++) { float d = p[i] - mean; s += d * d; }
    return s;
}

// (Σ g[i], Σ g[i]·(x[i] − mean)): two 8-lane partial sums of each over 16-element blocks, then
// 8-element blocks into the first, combined lane by lane, the lanes added in order, the tail last.
static inline __attribute__((always_inline)) void lane_sum_and_centered_dot(const float *restrict g, const float *restrict x,
                                                                            int64_t count, float mean, float *sum, float *dot) {
    const v8 m = (v8){0} + mean;
    v8 s0 = {0}, s1 = {0}, d0 = {0}, d1 = {0};
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        v8 g0 = LOAD8(g + i), g1 = LOAD8(g + i + 8);
        s0 += g0; s1 += g1;
        d0 += g0 * (LOAD8(x + i) - m); d1 += g1 * (LOAD8(x + i + 8) - m);
    }
    for (; i + 8 <= count; i += 8) { v8 g0 = LOAD8(g + i); s0 += g0; d0 += g0 * (LOAD8(x + i) - m); }
    const v8 ts = s0 + s1, td = d0 + d1;
    float s = lanes_in_order(&ts), d = lanes_in_order(&td);
    for (; i < count; i++) { s += g[i]; d += g[i] * (x[i] - mean); }
    *sum = s;
    *dot = d;
}

// MARK: - GroupNorm

// The statistics of one (sample, group) row of m floats: mean and 1 / sqrt(variance + eps).
static inline __attribute__((always_inline)) void group_statistics(const float *restrict base, int64_t m, float eps,
                                                                   float *mean, float *rstd) {
    const float mu = lane_sum(base, m) / (float)m;
    const float v = lane_sum_of_squared_deviations(base, m, mu);
    *mean = mu;
    *rstd = 1.0f / sqrtf(v / (float)m + eps);
}

void NSDE_CLONES nsde_group_norm_forward(const float *restrict x, float *restrict y, int64_t row_begin, int64_t row_end,
                                         int64_t groups, int64_t channels_per_group, int64_t hw,
                                         const float *restrict gamma, const float *restrict beta, float eps, int relu,
                                         float *restrict mean, float *restrict rstd) {
    const int64_t m = channels_per_group * hw;
    for (int64_t row = row_begin; row < row_end; row++) {
        const float *base = x + row * m;
        group_statistics(base, m, eps, &mean[row], &rstd[row]);
        const float mu = mean[row], rs = rstd[row];
        const int64_t g0 = (row % groups) * channels_per_group;
        float *out = y + row * m;
        for (int64_t k = 0; k < channels_per_group; k++) {
            const int64_t ch = g0 + k;
            const float scale = rs * (gamma ? gamma[ch] : 1.0f);
            const float shift = (beta ? beta[ch] : 0.0f) - mu * scale;
            const float *xi = base + k * hw;
            float *yo = out + k * hw;
            if (relu) {
                for (int64_t i = 0; i < hw; i++) { float t = xi[i] * scale + shift; yo[i] = 0.0f >= t ? 0.0f : t; }
            } else {
                for (int64_t i = 0; i < hw; i++) yo[i] = xi[i] * scale + shift;
            }
        }
    }
}

// The gradient through one normalised row given its upstream gradient `gb` (already through the
// ReLU): the affine partial sums of its channels, then (unless dx is NULL) its input gradient.
static inline __attribute__((always_inline)) void group_backward_row(const float *restrict gb, const float *restrict xb,
                                                                     float *restrict out, int64_t row, int64_t groups,
                                                                     int64_t channels_per_group, int64_t hw,
                                                                     const float *restrict gamma, float mu, float rs,
                                                                     float *restrict dgamma_part, float *restrict dbeta_part) {
    const int64_t m = channels_per_group * hw, c = groups * channels_per_group;
    const int64_t g0 = (row % groups) * channels_per_group, sample = row / groups;
    float sum_d = 0, sum_dx = 0;
    for (int64_t k = 0; k < channels_per_group; k++) {
        const int64_t ch = g0 + k;
        const float gam = gamma ? gamma[ch] : 1.0f;
        float sg, sgx;
        lane_sum_and_centered_dot(gb + k * hw, xb + k * hw, hw, mu, &sg, &sgx);
        sgx *= rs;
        dgamma_part[sample * c + ch] = sgx;
        dbeta_part[sample * c + ch] = sg;
        sum_d += gam * sg;
        sum_dx += gam * sgx;
    }
    if (!out) return;
    const float mean_d = sum_d / (float)m, mean_dx = sum_dx / (float)m;
    for (int64_t k = 0; k < channels_per_group; k++) {
        const float gam = gamma ? gamma[g0 + k] : 1.0f;
        const float *xi = xb + k * hw, *gi = gb + k * hw;
        float *oi = out + k * hw;
        // dx = rstd · (γ·dy − mean(dx̂) − x̂ · mean(dx̂ · x̂))
        const float a = rs * gam, b = -rs * mean_d, cc = -rs * rs * mean_dx;
        for (int64_t i = 0; i < hw; i++) oi[i] = a * gi[i] + b + cc * (xi[i] - mu);
    }
}

void NSDE_CLONES nsde_group_norm_backward(const float *restrict dy, const float *restrict x, const float *restrict relu_output,
                                          float *restrict scratch, float *restrict dx, int64_t row_begin, int64_t row_end,
                                          int64_t groups, int64_t channels_per_group, int64_t hw,
                                          const float *restrict gamma, const float *restrict mean, const float *restrict rstd,
                                          float *restrict dgamma_part, float *restrict dbeta_part) {
    const int64_t m = channels_per_group * hw;
    for (int64_t row = row_begin; row < row_end; row++) {
        const float *gb = dy + row * m;
        if (relu_output) {
            // The gradient through the ReLU: zero where its output was ≤ 0, in 8-element blocks
            // from the row's start; the tail keeps where the output was > 0.
            const float *yb = relu_output + row * m;
            int64_t i = 0;
            for (; i + 8 <= m; i += 8) {
                typedef int32_t i8 __attribute__((vector_size(32)));
                i8 keep = LOAD8(yb + i) > (v8){0};       // all ones where y > 0 (NaN: kept, as y ≤ 0 is false)
                keep |= LOAD8(yb + i) != LOAD8(yb + i);
                *(v8u *)(scratch + i) = (v8)((i8)LOAD8(gb + i) & keep);
            }
            for (; i < m; i++) scratch[i] = yb[i] > 0.0f ? gb[i] : 0.0f;
            gb = scratch;
        }
        group_backward_row(gb, x + row * m, dx ? dx + row * m : NULL, row, groups, channels_per_group, hw, gamma,
                           mean[row], rstd[row], dgamma_part, dbeta_part);
    }
}

// MARK: - GroupNorm with ReLU and the blocked layout nChw16c
//
// oneDNN's AVX-512 convolutions keep activations in nChw16c: element (n, c, s) of a [N, C, H·W]
// tensor at ((n·C/16 + c/16)·hw + s)·16 + c mod 16. These kernels write (forward) and read
// (backward) the ReLU'd normalised activations in that layout, so the convolution that follows
// needs no layout conversion; the arithmetic is that of the NCHW kernels above, element for
// element, so the values are the same bits. One unit of work is one 16-channel block of one
// sample (16 / channels_per_group whole groups).

void NSDE_CLONES nsde_group_norm_relu_forward_blocked(const float *restrict x, float *restrict y, int64_t unit_begin,
                                                      int64_t unit_end, int64_t groups, int64_t channels_per_group,
                                                      int64_t hw, const float *restrict gamma, const float *restrict beta,
                                                      float eps, float *restrict mean, float *restrict rstd) {
    const int64_t m = channels_per_group * hw, c = groups * channels_per_group, blocks = c / 16;
    const int64_t groups_per_block = 16 / channels_per_group;
    for (int64_t unit = unit_begin; unit < unit_end; unit++) {
        const int64_t n = unit / blocks, cb = unit % blocks;
        float scale[16], shift[16];
        for (int64_t gi = 0; gi < groups_per_block; gi++) {
            const int64_t row = n * groups + cb * groups_per_block + gi;
            group_statistics(x + row * m, m, eps, &mean[row], &rstd[row]);
            for (int64_t k = 0; k < channels_per_group; k++) {
                const int64_t j = gi * channels_per_group + k, ch = cb * 16 + j;
                scale[j] = rstd[row] * (gamma ? gamma[ch] : 1.0f);
                shift[j] = (beta ? beta[ch] : 0.0f) - mean[row] * scale[j];
            }
        }
        const float *src = x + (n * c + cb * 16) * hw;
        float *dst = y + (n * blocks + cb) * hw * 16;
        int64_t s0 = 0;
        for (; s0 + 16 <= hw; s0 += 16) {
            v16 v[16];
            for (int j = 0; j < 16; j++) {
                v16 t = LOAD16(src + j * hw + s0) * scale[j] + shift[j];
                i16v keep = (t > (v16){0}) | (t != t);      // 0 ≥ t ? 0 : t
                v[j] = (v16)((i16v)t & keep);
            }
            transpose16(v);
            for (int k = 0; k < 16; k++) *(v16u *)(dst + (s0 + k) * 16) = v[k];
        }
        for (; s0 < hw; s0++) {
            for (int j = 0; j < 16; j++) {
                float t = src[j * hw + s0] * scale[j] + shift[j];
                dst[s0 * 16 + j] = 0.0f >= t ? 0.0f : t;
            }
        }
    }
}

void NSDE_CLONES nsde_group_norm_relu_backward_blocked(const float *restrict dy, const float *restrict x,
                                                       const float *restrict beta, float *restrict scratch,
                                                       float *restrict dx, int64_t unit_begin, int64_t unit_end,
                                                       int64_t groups, int64_t channels_per_group, int64_t hw,
                                                       const float *restrict gamma, const float *restrict mean,
                                                       const float *restrict rstd, float *restrict dgamma_part,
                                                       float *restrict dbeta_part) {
    const int64_t m = channels_per_group * hw, c = groups * channels_per_group, blocks = c / 16;
    const int64_t groups_per_block = 16 / channels_per_group;
    // Within a row, the elements from `vector_end` on are the NCHW kernel's scalar tail.
    const int64_t vector_end = m / 8 * 8;
    for (int64_t unit = unit_begin; unit < unit_end; unit++) {
        const int64_t n = unit / blocks, cb = unit % blocks;
        // The forward pass's affine map per channel: t = x·scale + shift is the ReLU's input, so
        // its output y = (0 ≥ t ? 0 : t) is positive (or NaN) exactly where t is, and the ReLU's
        // mask comes from x (NCHW, no transpose) instead of from the blocked output.
        float scale[16], shift[16];
        for (int64_t gi = 0; gi < groups_per_block; gi++) {
            const int64_t row = n * groups + cb * groups_per_block + gi;
            for (int64_t k = 0; k < channels_per_group; k++) {
                const int64_t j = gi * channels_per_group + k, ch = cb * 16 + j;
                scale[j] = rstd[row] * (gamma ? gamma[ch] : 1.0f);
                shift[j] = (beta ? beta[ch] : 0.0f) - mean[row] * scale[j];
            }
        }
        const float *gsrc = dy + (n * blocks + cb) * hw * 16, *src = x + (n * c + cb * 16) * hw;
        // The block's upstream gradient through the ReLU, back in NCHW order (16 rows of hw).
        int64_t s0 = 0;
        for (; s0 + 16 <= hw; s0 += 16) {
            v16 g[16];
            for (int k = 0; k < 16; k++) g[k] = LOAD16(gsrc + (s0 + k) * 16);
            transpose16(g);
            for (int j = 0; j < 16; j++) {
                v16 t = LOAD16(src + j * hw + s0) * scale[j] + shift[j];
                i16v keep = (t > (v16){0}) | (t != t);
                *(v16u *)(scratch + j * hw + s0) = (v16)((i16v)g[j] & keep);
            }
        }
        for (; s0 < hw; s0++) {
            for (int j = 0; j < 16; j++) {
                const float t = src[j * hw + s0] * scale[j] + shift[j];   // y ≤ 0 exactly where t ≤ 0
                scratch[j * hw + s0] = t <= 0.0f ? 0.0f : gsrc[s0 * 16 + j];
            }
        }
        for (int64_t gi = 0; gi < groups_per_block; gi++) {
            const int64_t row = n * groups + cb * groups_per_block + gi;
            float *gb = scratch + gi * m;
            // The NCHW kernel's tail rule (y > 0 ? g : 0; it differs only where y is NaN).
            for (int64_t i = vector_end; i < m; i++) {
                const int64_t j = gi * channels_per_group + i / hw, s = i % hw;
                const float t = src[j * hw + s] * scale[j] + shift[j];
                gb[i] = t > 0.0f ? gsrc[s * 16 + j] : 0.0f;
            }
            group_backward_row(gb, x + row * m, dx ? dx + row * m : NULL, row, groups, channels_per_group, hw, gamma,
                               mean[row], rstd[row], dgamma_part, dbeta_part);
        }
    }
}

// MARK: - GroupNorm with ReLU from nChw16c to nChw16c
//
// The same normalisation when its input is also in nChw16c (the output of a convolution that
// stays in oneDNN's layout), optionally plus an addend broadcast over the batch (one sample's
// [C/16, hw, 16] block, for example a time channel's map) added on every read. A unit is one
// 16-channel block of one sample; each of its 16 lanes is one channel, so the statistics are
// lane-wise partial sums over the pixels (four partial sums over runs of four pixels, combined
// as (a0 + a1) + (a2 + a3)), then the lanes of a group added in channel order. The order differs
// from the NCHW kernels (the values agree to rounding), and is the same on every instruction set.

// Pixel s of a unit: x plus, when there is one, the addend.
#define BLOCKED_INPUT(xb, ab, s) ((ab) ? LOAD16((xb) + (s) * 16) + LOAD16((ab) + (s) * 16) : LOAD16((xb) + (s) * 16))
// g where the ReLU's input t is positive or NaN (where its output 0 ≥ t ? 0 : t is), else 0.
#define RELU_MASKED(g, t) ((v16)((i16v)(g) & (((t) > (v16){0}) | ((t) != (t)))))

// g through the ReLU when there is one.
#define UPSTREAM(relu, g, t) ((relu) ? RELU_MASKED(g, t) : (g))

// Per lane, the mean and the sum of squared deviations M2 of x + a over the unit's pixels, read
// once from memory: chunks of 64 pixels (4 KiB of x, re-read from L1) each summed and centred on
// their own mean, then merged in order with Chan et al.'s update (Δ = chunk mean − mean;
// M2 += chunk M2 + Δ²·n·k/(n + k)).
// (Vectors through pointers: a vector argument would change the calling convention between the clones.)
enum { MOMENT_CHUNK = 64 };
static inline __attribute__((always_inline)) void blocked_lane_moments(const float *restrict xb, const float *restrict ab,
                                                                       int64_t hw, v16 *mean_out,
                                                                       v16 *m2_out) {
    v16 mean = {0}, m2 = {0};
    float n = 0;
    for (int64_t s0 = 0; s0 < hw; s0 += MOMENT_CHUNK) {
        const int64_t s1 = hw - s0 < MOMENT_CHUNK ? hw : s0 + MOMENT_CHUNK;
        const float k = (float)(s1 - s0);
        v16 a0 = {0}, a1 = {0};
        int64_t s = s0;
        for (; s + 2 <= s1; s += 2) {
            a0 += BLOCKED_INPUT(xb, ab, s); a1 += BLOCKED_INPUT(xb, ab, s + 1);
        }
        if (s < s1) a0 += BLOCKED_INPUT(xb, ab, s);
        const v16 centre = (a0 + a1) / k;
        v16 q0 = {0}, q1 = {0};
        for (s = s0; s + 2 <= s1; s += 2) {
            const v16 d0 = BLOCKED_INPUT(xb, ab, s) - centre, d1 = BLOCKED_INPUT(xb, ab, s + 1) - centre;
            q0 += d0 * d0; q1 += d1 * d1;
        }
        if (s < s1) {
            const v16 d0 = BLOCKED_INPUT(xb, ab, s) - centre;
            q0 += d0 * d0;
        }
        if (n == 0) {
            mean = centre; m2 = q0 + q1;
        } else {
            const v16 delta = centre - mean;
            mean += delta * (k / (n + k));
            m2 += (q0 + q1) + delta * delta * (n * k / (n + k));
        }
        n += k;
    }
    *mean_out = mean;
    *m2_out = m2;
}

// The lanes first ..< first + count of `t` added in order.
static inline __attribute__((always_inline)) float lanes_sum(const v16 *t, int64_t first, int64_t count) {
    float s = (*t)[first];
    for (int64_t k = 1; k < count; k++) s += (*t)[first + k];
    return s;
}

// The per-lane affine map of a unit's forward pass (t = x·scale + shift is the ReLU's input) and
// its groups' means and 1/σ spread over their lanes.
static inline __attribute__((always_inline)) void blocked_unit_affine(int64_t n, int64_t cb, int64_t groups,
                                                                      int64_t channels_per_group,
                                                                      const float *restrict gamma, const float *restrict beta,
                                                                      const float *restrict mean, const float *restrict rstd,
                                                                      v16 *scale, v16 *shift, v16 *mu, v16 *rs) {
    for (int64_t j = 0; j < 16; j++) {
        const int64_t row = n * groups + (cb * 16 + j) / channels_per_group, ch = cb * 16 + j;
        (*rs)[j] = rstd[row];
        (*mu)[j] = mean[row];
        (*scale)[j] = rstd[row] * (gamma ? gamma[ch] : 1.0f);
        (*shift)[j] = (beta ? beta[ch] : 0.0f) - mean[row] * (*scale)[j];
    }
}

void NSDE_CLONES nsde_group_norm_forward_blocked_input(const float *restrict x, const float *restrict addend,
                                                       float *restrict y, int64_t unit_begin, int64_t unit_end,
                                                       int64_t groups, int64_t channels_per_group, int64_t hw,
                                                       const float *restrict gamma, const float *restrict beta,
                                                       float eps, int relu, float *restrict mean, float *restrict rstd) {
    const int64_t m = channels_per_group * hw, c = groups * channels_per_group, blocks = c / 16;
    const int64_t groups_per_block = 16 / channels_per_group;
    for (int64_t unit = unit_begin; unit < unit_end; unit++) {
        const int64_t n = unit / blocks, cb = unit % blocks;
        const float *xb = x + unit * hw * 16, *ab = addend ? addend + cb * hw * 16 : NULL;
        v16 lane_mean, lane_m2;
        blocked_lane_moments(xb, ab, hw, &lane_mean, &lane_m2);
        // Each group's lanes merged (equal counts hw): μ = mean of the lane means,
        // M2 = Σ lane M2 + hw·Σ (lane mean − μ)².
        for (int64_t gi = 0; gi < groups_per_block; gi++) {
            const int64_t first = gi * channels_per_group;
            const float mu = lanes_sum(&lane_mean, first, channels_per_group) / (float)channels_per_group;
            float m2 = lanes_sum(&lane_m2, first, channels_per_group), spread = 0;
            for (int64_t k = 0; k < channels_per_group; k++) {
                const float d = lane_mean[first + k] - mu;
                spread += d * d;
            }
            m2 += (float)hw * spread;
            mean[n * groups + cb * groups_per_block + gi] = mu;
            rstd[n * groups + cb * groups_per_block + gi] = 1.0f / sqrtf(m2 / (float)m + eps);
        }
        v16 scale, shift, mu, rs;
        blocked_unit_affine(n, cb, groups, channels_per_group, gamma, beta, mean, rstd, &scale, &shift, &mu, &rs);
        float *yb = y + unit * hw * 16;
        if (relu) {
            for (int64_t s = 0; s < hw; s++) {
                const v16 t = BLOCKED_INPUT(xb, ab, s) * scale + shift;
                *(v16u *)(yb + s * 16) = RELU_MASKED(t, t);
            }
        } else {
            for (int64_t s = 0; s < hw; s++) *(v16u *)(yb + s * 16) = BLOCKED_INPUT(xb, ab, s) * scale + shift;
        }
    }
}

void NSDE_CLONES nsde_group_norm_backward_blocked_input(const float *restrict dy, const float *restrict x,
                                                        const float *restrict addend, const float *restrict beta,
                                                        int relu, int accumulate, float *restrict dx, int64_t unit_begin,
                                                        int64_t unit_end, int64_t groups, int64_t channels_per_group,
                                                        int64_t hw, const float *restrict gamma,
                                                        const float *restrict mean, const float *restrict rstd,
                                                        float *restrict dgamma_part, float *restrict dbeta_part) {
    const int64_t m = channels_per_group * hw, c = groups * channels_per_group, blocks = c / 16;
    const int64_t groups_per_block = 16 / channels_per_group;
    for (int64_t unit = unit_begin; unit < unit_end; unit++) {
        const int64_t n = unit / blocks, cb = unit % blocks;
        const float *xb = x + unit * hw * 16, *ab = addend ? addend + cb * hw * 16 : NULL, *gb = dy + unit * hw * 16;
        v16 scale, shift, mu, rs;
        blocked_unit_affine(n, cb, groups, channels_per_group, gamma, beta, mean, rstd, &scale, &shift, &mu, &rs);
        // The upstream gradient, through the ReLU when there is one (its mask recomputed from x: the
        // forward pass's output is positive, or NaN, exactly where t is), and its sums: Σ g and Σ g·(x − μ).
        v16 s0 = {0}, s1 = {0}, d0 = {0}, d1 = {0};
        int64_t s = 0;
        for (; s + 2 <= hw; s += 2) {
            v16 x0 = BLOCKED_INPUT(xb, ab, s), x1 = BLOCKED_INPUT(xb, ab, s + 1);
            v16 t0 = x0 * scale + shift, t1 = x1 * scale + shift;
            v16 g0 = UPSTREAM(relu, LOAD16(gb + s * 16), t0), g1 = UPSTREAM(relu, LOAD16(gb + (s + 1) * 16), t1);
            s0 += g0; s1 += g1;
            d0 += g0 * (x0 - mu); d1 += g1 * (x1 - mu);
        }
        for (; s < hw; s++) {
            v16 x0 = BLOCKED_INPUT(xb, ab, s), t0 = x0 * scale + shift, g0 = UPSTREAM(relu, LOAD16(gb + s * 16), t0);
            s0 += g0; d0 += g0 * (x0 - mu);
        }
        const v16 sg = s0 + s1, sgx = (d0 + d1) * rs;
        v16 a, b, cc;
        for (int64_t gi = 0; gi < groups_per_block; gi++) {
            float sum_d = 0, sum_dx = 0;
            for (int64_t k = 0; k < channels_per_group; k++) {
                const int64_t j = gi * channels_per_group + k, ch = cb * 16 + j;
                const float gam = gamma ? gamma[ch] : 1.0f;
                dgamma_part[n * c + ch] = sgx[j];
                dbeta_part[n * c + ch] = sg[j];
                sum_d += gam * sg[j];
                sum_dx += gam * sgx[j];
            }
            // dx = rstd · (γ·dy − mean(dx̂) − x̂ · mean(dx̂ · x̂))
            const float mean_d = sum_d / (float)m, mean_dx = sum_dx / (float)m;
            for (int64_t k = 0; k < channels_per_group; k++) {
                const int64_t j = gi * channels_per_group + k;
                const float r = rs[j];
                a[j] = r * (gamma ? gamma[cb * 16 + j] : 1.0f);
                b[j] = -r * mean_d;
                cc[j] = -r * r * mean_dx;
            }
        }
        if (!dx) continue;
        float *ob = dx + unit * hw * 16;
        for (s = 0; s < hw; s++) {
            v16 x0 = BLOCKED_INPUT(xb, ab, s), t0 = x0 * scale + shift, g0 = UPSTREAM(relu, LOAD16(gb + s * 16), t0);
            const v16 d = a * g0 + b + cc * (x0 - mu);
            *(v16u *)(ob + s * 16) = accumulate ? LOAD16(ob + s * 16) + d : d;
        }
    }
}

// MARK: - Sum over an axis

void NSDE_CLONES nsde_sum_rows(const float *restrict src, int64_t rows, int64_t inner, int64_t column_begin,
                               int64_t column_end, float *restrict dst) {
    enum { CHUNK = 512 };
    double acc[CHUNK];
    for (int64_t j0 = column_begin; j0 < column_end; j0 += CHUNK) {
        const int64_t w = column_end - j0 < CHUNK ? column_end - j0 : CHUNK;
        for (int64_t j = 0; j < w; j++) acc[j] = 0;
        for (int64_t k = 0; k < rows; k++) {
            const float *row = src + k * inner + j0;
            for (int64_t j = 0; j < w; j++) acc[j] += (double)row[j];
        }
        for (int64_t j = 0; j < w; j++) dst[j0 + j] = (float)acc[j];
    }
}

// MARK: - Column sums (bias gradients)

// Adds the rows r0 ..< r1 (r1 > r0) of `x` (row stride ld) into `block` (first row copied), the
// first stage of nsde_column_sums. Each column's sum runs down the rows in order; 64 columns at a
// time stay in registers for the whole block of rows (a running sum kept in `block` would make
// every row wait for the previous row's store).
typedef float colsum_v16 __attribute__((vector_size(64)));
// A vector load as a statement (a function returning the vector would change the baseline clone's ABI).
#define COLSUM_ADD(acc, p)                                                                                              \
    do {                                                                                                                \
        colsum_v16 _v;                                                                                                  \
        __builtin_memcpy(&_v, (p), sizeof _v);                                                                          \
        (acc) = (acc) + _v;                                                                                             \
    } while (0)
static inline __attribute__((always_inline)) void sum_row_block(const float *restrict x, int64_t r0, int64_t r1, int64_t cols,
                                                                int64_t ld, float *restrict block) {
    int64_t j0 = 0;
    for (; j0 + 64 <= cols; j0 += 64) {
        colsum_v16 a[4];
        __builtin_memcpy(a, x + r0 * ld + j0, sizeof a);
        for (int64_t r = r0 + 1; r < r1; r++) {
            const float *row = x + r * ld + j0;
            COLSUM_ADD(a[0], row);
            COLSUM_ADD(a[1], row + 16);
            COLSUM_ADD(a[2], row + 32);
            COLSUM_ADD(a[3], row + 48);
        }
        __builtin_memcpy(block + j0, a, sizeof a);
    }
    for (; j0 + 16 <= cols; j0 += 16) {
        colsum_v16 a;
        __builtin_memcpy(&a, x + r0 * ld + j0, sizeof a);
        for (int64_t r = r0 + 1; r < r1; r++) COLSUM_ADD(a, x + r * ld + j0);
        __builtin_memcpy(block + j0, &a, sizeof a);
    }
    for (int64_t j = j0; j < cols; j++) {
        float sum = x[r0 * ld + j];
        for (int64_t r = r0 + 1; r < r1; r++) sum += x[r * ld + j];
        block[j] = sum;
    }
}

void NSDE_CLONES nsde_column_sums(const float *restrict x, int64_t rows, int64_t cols, int64_t ld, float *restrict block,
                                  double *restrict total, float *restrict out) {
    for (int64_t j = 0; j < cols; j++) total[j] = 0;
    for (int64_t r0 = 0; r0 < rows; r0 += 64) {
        const int64_t r1 = rows - r0 < 64 ? rows : r0 + 64;
        sum_row_block(x, r0, r1, cols, ld, block);
        for (int64_t j = 0; j < cols; j++) total[j] += (double)block[j];
    }
    for (int64_t j = 0; j < cols; j++) out[j] = (float)total[j];
}

void NSDE_CLONES nsde_tanh_backward_column_sums(const float *restrict g, const float *restrict y, float *restrict out,
                                                int64_t rows, int64_t cols, float *restrict block, double *restrict total,
                                                float *restrict sums) {
    for (int64_t j = 0; j < cols; j++) total[j] = 0;
    for (int64_t r0 = 0; r0 < rows; r0 += 64) {
        const int64_t r1 = rows - r0 < 64 ? rows : r0 + 64;
        for (int64_t r = r0; r < r1; r++) {
            const float *gr = g + r * cols, *yr = y + r * cols;
            float *o = out + r * cols;
            for (int64_t j = 0; j < cols; j++) { float t = yr[j]; o[j] = gr[j] * (1.0f - t * t); }
        }
        sum_row_block(out, r0, r1, cols, cols, block);
        for (int64_t j = 0; j < cols; j++) total[j] += (double)block[j];
    }
    for (int64_t j = 0; j < cols; j++) sums[j] = (float)total[j];
}

#include "nsde_kernels.h"
#include "tanh1.h"
#include <math.h>

// No fused multiply-add: every clone must round exactly as the others (and as the Swift code).
#include "clones.h"

// MARK: - Philox-4x32-10

enum { BATCH = 64 };
static const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;

typedef uint32_t u32x16 __attribute__((vector_size(64)));
typedef uint64_t u64x8 __attribute__((vector_size(64)));

// Philox-4x32-10 blocks first ..< first + n of (key0, key1, stream), word j of block i at
// w[j * BATCH + i]; 16 blocks at a time (blocks past n up to the next multiple of 16 are computed
// too, into the same buffer). Each 32-bit word lives in the low half of a 64-bit lane (eight
// blocks per vector), so one pmuludq gives a round's full 64-bit product M · c: its high half is
// the word the round XORs, its low half the word it keeps. The high halves of the lanes carry
// garbage that no round reads (pmuludq and the final extraction take the low halves only).
static inline __attribute__((always_inline)) void philox_blocks(uint32_t key0, uint32_t key1, uint64_t stream,
                                                                uint64_t first, int n, uint32_t *restrict w) {
    const uint32_t s0 = (uint32_t)stream, s1 = (uint32_t)(stream >> 32);
    const uint32_t b0 = (uint32_t)first, b1 = (uint32_t)(first >> 32);
    const u64x8 lane = { 0, 1, 2, 3, 4, 5, 6, 7 };
    const u64x8 low = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu };
    const u64x8 m0 = { M0, M0, M0, M0, M0, M0, M0, M0 }, m1 = { M1, M1, M1, M1, M1, M1, M1, M1 };
    for (int i = 0; i < n; i += 16) {
        // Counter words of blocks i ..< i + 8 (half 0) and i + 8 ..< i + 16 (half 1).
        u64x8 c0[2], c1[2], c2[2], c3[2];
        for (int h = 0; h < 2; h++) {
            u64x8 index = (u64x8){ 0 } + ((uint64_t)b0 + (uint64_t)(i + 8 * h)) + lane;   // 33 bits: low word and carry
            c0[h] = index & low;
            c1[h] = (u64x8){ 0 } + (uint64_t)b1 + (index >> 32);
            c2[h] = (u64x8){ 0 } + (uint64_t)s0;
            c3[h] = (u64x8){ 0 } + (uint64_t)s1;
        }
        uint64_t ka = key0, kb = key1;
        for (int r = 0; r < 10; r++) {
            for (int h = 0; h < 2; h++) {
                u64x8 p0 = (c0[h] & low) * m0, p1 = (c2[h] & low) * m1;
                u64x8 n0 = (p1 >> 32) ^ c1[h] ^ ka;
                u64x8 n2 = (p0 >> 32) ^ c3[h] ^ kb;
                c1[h] = p1;
                c3[h] = p0;
                c0[h] = n0;
                c2[h] = n2;
            }
            ka = (uint32_t)(ka + W0);
            kb = (uint32_t)(kb + W1);
        }
        // The low words of both halves, in block order.
#define PHILOX_LOW_WORDS(v) __builtin_shufflevector((u32x16)(v)[0], (u32x16)(v)[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
        u32x16 w0 = PHILOX_LOW_WORDS(c0), w1 = PHILOX_LOW_WORDS(c1), w2 = PHILOX_LOW_WORDS(c2), w3 = PHILOX_LOW_WORDS(c3);
#undef PHILOX_LOW_WORDS
        __builtin_memcpy(w + i, &w0, sizeof w0);
        __builtin_memcpy(w + BATCH + i, &w1, sizeof w1);
        __builtin_memcpy(w + 2 * BATCH + i, &w2, sizeof w2);
        __builtin_memcpy(w + 3 * BATCH + i, &w3, sizeof w3);
    }
}

static inline __attribute__((always_inline)) float as_float(uint32_t u) { union { uint32_t u; float f; } v = { u }; return v.f; }
static inline __attribute__((always_inline)) uint32_t as_bits(float f) { union { float f; uint32_t u; } v = { f }; return v.u; }

// Cephes logf on a positive normal float (the Swift PhiloxMath.log, operation for operation).
static inline __attribute__((always_inline)) float philox_log(float x) {
    uint32_t bits = as_bits(x);
    int32_t e = (int32_t)(bits >> 23) - 126;
    float m0 = as_float((bits & 0x807FFFFFu) | 0x3F000000u);
    int small = m0 < 0.707106781186547524f;
    e = small ? e - 1 : e;
    float m = small ? (m0 + m0) - 1.0f : m0 - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    float fe = (float)e;
    y = y + -2.12194440e-4f * fe;
    y = y + -0.5f * z;
    return (m + y) + 0.693359375f * fe;
}

void NSDE_CLONES nsde_philox_normal(uint32_t key0, uint32_t key1, uint64_t stream, uint64_t first_block, int64_t blocks,
                                    float mean, float std, float *out) {
    uint32_t words[4 * BATCH] __attribute__((aligned(64)));
    float rr[BATCH] __attribute__((aligned(64))), cc[BATCH] __attribute__((aligned(64))), ss[BATCH] __attribute__((aligned(64)));
    // The four normals of each block, one array each, interleaved into the output at the end.
    float normals[4][BATCH] __attribute__((aligned(64)));
    for (int64_t done = 0; done < blocks; done += BATCH) {
        int n = (int)(blocks - done < BATCH ? blocks - done : BATCH);
        philox_blocks(key0, key1, stream, first_block + (uint64_t)done, n, words);
        float *o4 = out + 4 * done;
        for (int pair = 0; pair < 2; pair++) {
            const uint32_t *wa = words + 2 * pair * BATCH, *wb = wa + BATCH;
            for (int i = 0; i < n; i++) {
                float u = (float)wa[i] * 0x1p-32f + 0x1p-33f;
                rr[i] = __builtin_sqrtf(-2.0f * philox_log(u));
                // cos and sin of 2π k / 2^24 (Cephes polynomials after an exact quadrant reduction).
                uint32_t k = wb[i] >> 8;
                uint32_t q = (k + (1u << 21)) >> 22;
                float f = (float)((int32_t)k - (int32_t)(q << 22)) * 0x1p-22f;
                float x = f * 1.57079632679489661923f;
                float z = x * x;
                float ps = -1.9515295891e-4f;
                ps = ps * z + 8.3321608736e-3f;
                ps = ps * z - 1.6666654611e-1f;
                float s = x + x * z * ps;
                float pc = 2.443315711809948e-5f;
                pc = pc * z - 1.388731625493765e-3f;
                pc = pc * z + 4.166664568298827e-2f;
                float c = (1.0f - 0.5f * z) + z * z * pc;
                int odd = (q & 1u) != 0;
                float sin_abs = odd ? c : s, cos_abs = odd ? s : c;
                uint32_t sin_sign = (q & 2u) << 30, cos_sign = ((q + 1u) & 2u) << 30;
                cc[i] = as_float(as_bits(cos_abs) ^ cos_sign);
                ss[i] = as_float(as_bits(sin_abs) ^ sin_sign);
            }
            float *first = normals[2 * pair], *second = normals[2 * pair + 1];
            for (int i = 0; i < n; i++) {
                first[i] = (rr[i] * cc[i]) * std + mean;
                second[i] = (rr[i] * ss[i]) * std + mean;
            }
        }
        // o4[4i + j] = normals[j][i]: 16 blocks at a time through two rounds of interleaving
        // shuffles (a stride-4 store loop compiles to scatters), the rest one at a time.
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            typedef float f16 __attribute__((vector_size(64)));
            f16 a, b, c, d;
            __builtin_memcpy(&a, normals[0] + i, 64); __builtin_memcpy(&b, normals[1] + i, 64);
            __builtin_memcpy(&c, normals[2] + i, 64); __builtin_memcpy(&d, normals[3] + i, 64);
            f16 ab_lo = __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            f16 ab_hi = __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            f16 cd_lo = __builtin_shufflevector(c, d, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            f16 cd_hi = __builtin_shufflevector(c, d, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            f16 q0 = __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
            f16 q1 = __builtin_shufflevector(ab_lo, cd_lo, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
            f16 q2 = __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
            f16 q3 = __builtin_shufflevector(ab_hi, cd_hi, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
            float *o = o4 + 4 * i;
            __builtin_memcpy(o, &q0, 64); __builtin_memcpy(o + 16, &q1, 64);
            __builtin_memcpy(o + 32, &q2, 64); __builtin_memcpy(o + 48, &q3, 64);
        }
        for (; i < n; i++) for (int j = 0; j < 4; j++) o4[4 * i + j] = normals[j][i];
    }
}

// MARK: - tanh

void NSDE_CLONES nsde_tanh(const float *restrict x, float *restrict y, int64_t count) {
    for (int64_t i = 0; i < count; i++) y[i] = nsde_tanh1(x[i]);
}

void NSDE_CLONES nsde_tanh_inplace(float *restrict y, int64_t count) {
    for (int64_t i = 0; i < count; i++) y[i] = nsde_tanh1(y[i]);
}

void NSDE_CLONES nsde_bias_tanh_inplace(float *restrict y, const float *restrict bias, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        float *restrict row = y + r * cols;
        for (int64_t c = 0; c < cols; c++) row[c] = nsde_tanh1(row[c] + bias[c]);
    }
}

void NSDE_CLONES nsde_bias_add_inplace(float *restrict y, const float *restrict bias, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        float *restrict row = y + r * cols;
        for (int64_t c = 0; c < cols; c++) row[c] = row[c] + bias[c];
    }
}

// MARK: - Same-shape elementwise arithmetic

void NSDE_CLONES nsde_binary(nsde_binary_op op, const float *restrict a, const float *restrict b, float *restrict out,
                             int64_t count) {
    switch (op) {
    case NSDE_ADD: for (int64_t i = 0; i < count; i++) out[i] = a[i] + b[i]; break;
    case NSDE_SUB: for (int64_t i = 0; i < count; i++) out[i] = a[i] - b[i]; break;
    case NSDE_MUL: for (int64_t i = 0; i < count; i++) out[i] = a[i] * b[i]; break;
    }
}

void NSDE_CLONES nsde_affine(const float *restrict x, float scale, float shift, float *restrict out, int64_t count) {
    for (int64_t i = 0; i < count; i++) out[i] = x[i] * scale + shift;
}

void NSDE_CLONES nsde_adding_product(const float *restrict x, const float *restrict a, const float *restrict b,
                                     float *restrict out, int64_t count) {
    for (int64_t i = 0; i < count; i++) out[i] = x[i] + a[i] * b[i];
}

void NSDE_CLONES nsde_adding_scaled(const float *restrict x, const float *restrict a, float alpha, const float *restrict b,
                                    float beta, float *restrict out, int64_t count) {
    for (int64_t i = 0; i < count; i++) out[i] = (x[i] + alpha * a[i]) + beta * b[i];
}

void NSDE_CLONES nsde_add_inplace(float *restrict accumulator, const float *restrict g, int64_t count) {
    for (int64_t i = 0; i < count; i++) accumulator[i] = accumulator[i] + g[i];
}

void NSDE_CLONES nsde_adding_product_affine(const float *restrict x, const float *restrict a, const float *restrict b,
                                            float scale, float shift, float *restrict out, int64_t count) {
    for (int64_t i = 0; i < count; i++) { float m = b[i] * scale + shift; out[i] = x[i] + a[i] * m; }
}

void NSDE_CLONES nsde_product_affine(const float *restrict a, const float *restrict b, float scale, float shift,
                                     float *restrict out, int64_t count) {
    for (int64_t i = 0; i < count; i++) { float m = b[i] * scale + shift; out[i] = a[i] * m; }
}

void NSDE_CLONES nsde_tanh_backward(const float *restrict g, const float *restrict y, float *restrict out,
                                    int64_t count) {
    for (int64_t i = 0; i < count; i++) { float t = y[i]; out[i] = g[i] * (1.0f - t * t); }
}

double NSDE_CLONES nsde_fixed_point_step(const float *restrict y, const float *restrict out, const float *restrict x,
                                         float *restrict next, double rtol, double atol, int64_t count) {
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        for (int j = 0; j < 8; j++) {
            float v = y[i + j] - (out[i + j] - x[i + j]);
            next[i + j] = v;
            double a = fabs((double)v), b = fabs((double)x[i + j]);
            double r = (double)(v - x[i + j]) / (atol + rtol * (a > b ? a : b));
            lanes[j] += r * r;
        }
    }
    for (int j = 0; i < count; i++, j++) {
        float v = y[i] - (out[i] - x[i]);
        next[i] = v;
        double a = fabs((double)v), b = fabs((double)x[i]);
        double r = (double)(v - x[i]) / (atol + rtol * (a > b ? a : b));
        lanes[j] += r * r;
    }
    double sum = 0;
    for (int j = 0; j < 8; j++) sum += lanes[j];
    return sum;
}

int NSDE_CLONES nsde_all_finite(const float *restrict x, int64_t count) {
    // An element is infinite or NaN exactly when its exponent bits are all ones. The floats are
    // read as integers through a may_alias type (no strict-aliasing assumption).
    typedef uint32_t __attribute__((may_alias)) aliasing_u32;
    const aliasing_u32 *restrict bits = (const aliasing_u32 *)x;
    int64_t i = 0;
    for (; i + 256 <= count; i += 256) {
        uint32_t bad = 0;
        for (int j = 0; j < 256; j++) bad |= (uint32_t)((bits[i + j] & 0x7F800000u) == 0x7F800000u);
        if (bad) return 0;
    }
    uint32_t bad = 0;
    for (; i < count; i++) bad |= (uint32_t)((bits[i] & 0x7F800000u) == 0x7F800000u);
    return bad == 0;
}

// MARK: - Dispatch report

__attribute__((target("avx512f"))) static const char *isa_avx512(void) { return "avx512f"; }
__attribute__((target("avx2"))) static const char *isa_avx2(void) { return "avx2"; }

int64_t nsde_thread_slot(void) {
    static _Thread_local int64_t slot = -1;
    static int64_t next = 0;
    if (__builtin_expect(slot < 0, 0)) slot = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
    return slot;
}

const char *nsde_kernels_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return isa_avx512();
    if (__builtin_cpu_supports("avx2")) return isa_avx2();
    return "baseline";
}

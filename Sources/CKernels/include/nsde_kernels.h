// Hot elementwise kernels compiled once per x86-64 instruction-set level (AVX-512, AVX2,
// baseline) and chosen by the dynamic loader for the processor the program runs on
// (`target_clones`): the Swift code is built for baseline x86-64, whose 4-wide SIMD leaves most
// of an AVX-512 core idle. Every clone performs the same IEEE operations in the same order (no
// FMA contraction), so results are bit-identical on every processor.
#ifndef NSDE_KERNELS_H
#define NSDE_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Normal values `mean + std * z` for Philox-4x32-10 blocks `first_block ..< first_block + blocks`
/// of `(key0, key1, stream)`: four values per block, Box–Muller on words (0, 1) and (2, 3), exactly
/// as the library's Swift definition (`PhiloxKernels.normal`). Writes `4 * blocks` floats.
void nsde_philox_normal(uint32_t key0, uint32_t key1, uint64_t stream, uint64_t first_block, int64_t blocks,
                        float mean, float std, float *out);

/// `y[i] = tanh(x[i])` by Eigen's odd [13/6] rational approximation of the clamped input (the
/// library's `Elementwise.tanhApproximation`). NaN stays NaN.
void nsde_tanh(const float *x, float *y, int64_t count);

/// The elementwise binary operations of `nsde_binary`.
typedef enum { NSDE_ADD = 0, NSDE_SUB = 1, NSDE_MUL = 2 } nsde_binary_op;

/// `out[i] = a[i] op b[i]` for `count` elements.
void nsde_binary(nsde_binary_op op, const float *a, const float *b, float *out, int64_t count);

/// `out[i] = x[i] * scale + shift` (two roundings, no FMA).
void nsde_affine(const float *x, float scale, float shift, float *out, int64_t count);

/// `out[i] = x[i] + a[i] * b[i]` (two roundings, no FMA).
void nsde_adding_product(const float *x, const float *a, const float *b, float *out, int64_t count);

/// 1 when every element is finite (neither infinite nor NaN), else 0.
int nsde_all_finite(const float *x, int64_t count);

/// The name of the instruction-set level the loader picked for these kernels ("avx512f",
/// "avx2" or "baseline").
const char *nsde_kernels_isa(void);

#ifdef __cplusplus
}
#endif

#endif

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
/// `y[i] = tanh(y[i])` in place, with ``nsde_tanh``'s approximation (same bits).
void nsde_tanh_inplace(float *y, int64_t count);
/// `y[r, c] = tanh(y[r, c] + bias[c])` in place for a row-major `rows × cols` matrix: a linear
/// layer's bias and tanh in one pass over its GEMM output.
void nsde_bias_tanh_inplace(float *y, const float *bias, int64_t rows, int64_t cols);

/// `y[r, c] = y[r, c] + bias[c]` for a `[rows, cols]` matrix, in place (a linear layer's bias).
void nsde_bias_add_inplace(float *y, const float *bias, int64_t rows, int64_t cols);

/// The elementwise binary operations of `nsde_binary`.
typedef enum { NSDE_ADD = 0, NSDE_SUB = 1, NSDE_MUL = 2 } nsde_binary_op;

/// `out[i] = a[i] op b[i]` for `count` elements.
void nsde_binary(nsde_binary_op op, const float *a, const float *b, float *out, int64_t count);

/// `out[i] = (x[i] + alpha * a[i]) + beta * b[i]` (four roundings, no FMA): the solvers' updates
/// such as y + f·Δt + σ·ΔW.
void nsde_adding_scaled(const float *x, const float *a, float alpha, const float *b, float beta, float *out, int64_t count);

/// `accumulator[i] += g[i]` in place (the bits of `nsde_binary(NSDE_ADD, …)`).
void nsde_add_inplace(float *accumulator, const float *g, int64_t count);

/// `out[i] = x[i] * scale + shift` (two roundings, no FMA).
void nsde_affine(const float *x, float scale, float shift, float *out, int64_t count);

/// `out[i] = x[i] + a[i] * b[i]` (two roundings, no FMA).
void nsde_adding_product(const float *x, const float *a, const float *b, float *out, int64_t count);
/// `out[i] = x[i] + a[i] * (b[i] * scale + shift)`: ``nsde_adding_product`` of ``nsde_affine``'s
/// output, in one pass with the same roundings (same bits as the two kernels).
void nsde_adding_product_affine(const float *x, const float *a, const float *b, float scale, float shift, float *out,
                                int64_t count);
/// `out[i] = a[i] * (b[i] * scale + shift)`, the same roundings as ``nsde_affine`` then a product.
void nsde_product_affine(const float *a, const float *b, float scale, float shift, float *out, int64_t count);

/// `out[i] = g[i] * (1 - y[i] * y[i])`: the gradient through `y = tanh(x)` (two roundings, no FMA).
void nsde_tanh_backward(const float *g, const float *y, float *out, int64_t count);

/// One fixed-point iteration of the stochastic adjoint's state reconstruction:
/// `next[i] = y[i] − (out[i] − x[i])`, and returns Σ ((next[i] − x[i]) / (atol + rtol·max(|next[i]|, |x[i]|)))²
/// in double, summed in 8 lanes (i mod 8) then lane by lane (a fixed order on every level).
double nsde_fixed_point_step(const float *y, const float *out, const float *x, float *next, double rtol, double atol,
                             int64_t count);

/// GroupNorm forward on NCHW `x` (rows `row_begin ..< row_end` of the `[N·groups]` (sample, group)
/// rows, each `channels_per_group·hw` contiguous floats): writes `y = γ_c·(x − μ)·rstd + β_c`
/// (`max(y, 0)` when `relu` is nonzero; `gamma`/`beta` may be NULL for 1 and 0) and each row's
/// mean and `rstd = 1 / sqrt(variance + eps)`. Sums use 8-lane partial sums in a fixed order.
void nsde_group_norm_forward(const float *x, float *y, int64_t row_begin, int64_t row_end, int64_t groups,
                             int64_t channels_per_group, int64_t hw, const float *gamma, const float *beta, float eps,
                             int relu, float *mean, float *rstd);

/// GroupNorm backward for rows `row_begin ..< row_end`: with `relu_output` (the forward's output
/// when it applied ReLU; else NULL) the upstream `dy` is first masked into `scratch`
/// (`channels_per_group·hw` floats); writes `dx` (unless NULL) and, per (sample, channel), the
/// partial sums `dgamma_part = Σ dy·x̂` and `dbeta_part = Σ dy` (`[N·C]`).
void nsde_group_norm_backward(const float *dy, const float *x, const float *relu_output, float *scratch, float *dx,
                              int64_t row_begin, int64_t row_end, int64_t groups, int64_t channels_per_group, int64_t hw,
                              const float *gamma, const float *mean, const float *rstd, float *dgamma_part,
                              float *dbeta_part);

/// GroupNorm with ReLU whose output is written in oneDNN's blocked layout nChw16c (element
/// (n, c, s) at ((n·C/16 + c/16)·hw + s)·16 + c mod 16): units `unit_begin ..< unit_end` of the
/// [N · C/16] (sample, 16-channel block) units; needs C a multiple of 16 and `channels_per_group`
/// dividing 16. Values and statistics are those of nsde_group_norm_forward with `relu`.
void nsde_group_norm_relu_forward_blocked(const float *x, float *y, int64_t unit_begin, int64_t unit_end, int64_t groups,
                                          int64_t channels_per_group, int64_t hw, const float *gamma, const float *beta,
                                          float eps, float *mean, float *rstd);

/// The backward pass of nsde_group_norm_relu_forward_blocked: `dy` in nChw16c, `x` and `dx` (may
/// be NULL) in NCHW, `beta` the forward pass's (may be NULL), `scratch` 16·hw floats; the values of
/// nsde_group_norm_backward with the forward pass's `relu_output` (whose mask it recomputes from
/// `x`, the statistics, `gamma` and `beta` with the forward pass's operations).
void nsde_group_norm_relu_backward_blocked(const float *dy, const float *x, const float *beta, float *scratch,
                                           float *dx, int64_t unit_begin, int64_t unit_end, int64_t groups,
                                           int64_t channels_per_group, int64_t hw, const float *gamma, const float *mean,
                                           const float *rstd, float *dgamma_part, float *dbeta_part);

/// GroupNorm from nChw16c to nChw16c, followed by ReLU when `relu` is non-zero: `x` and `y`
/// `[N, C/16, hw, 16]`, `addend` (may be NULL) one sample's `[C/16, hw, 16]` added to every sample
/// of x as it is read; units, groups and statistics as in nsde_group_norm_relu_forward_blocked. The
/// statistics come from one read of the input (per lane, chunks of 64 pixels centred on their own
/// means and merged), so they agree with the NCHW kernels' to rounding, not bit for bit.
void nsde_group_norm_forward_blocked_input(const float *x, const float *addend, float *y, int64_t unit_begin,
                                           int64_t unit_end, int64_t groups, int64_t channels_per_group, int64_t hw,
                                           const float *gamma, const float *beta, float eps, int relu, float *mean,
                                           float *rstd);

/// The backward pass of nsde_group_norm_forward_blocked_input: `dy`, `x` and `dx` (may be NULL) in
/// nChw16c, `addend`, `beta` (may be NULL) and `relu` those of the forward pass; the affine
/// gradients' per-(sample, channel) parts as nsde_group_norm_backward writes them. With
/// `accumulate`, the input gradient is added into `dx` (dx + gradient, as nsde_add_inplace adds).
void nsde_group_norm_backward_blocked_input(const float *dy, const float *x, const float *addend, const float *beta,
                                            int relu, int accumulate, float *dx, int64_t unit_begin, int64_t unit_end, int64_t groups,
                                            int64_t channels_per_group, int64_t hw, const float *gamma,
                                            const float *mean, const float *rstd, float *dgamma_part,
                                            float *dbeta_part);

/// `dst[j] = Σ_k src[k·inner + j]` for `j` in `column_begin ..< column_end`, summed in double in
/// the order of k and rounded once (a `[rows, inner]` matrix summed over its rows).
void nsde_sum_rows(const float *src, int64_t rows, int64_t inner, int64_t column_begin, int64_t column_end, float *dst);

/// Column sums of a `[rows, cols]` matrix with row stride `ld`: rows are added in float in blocks
/// of 64 (into `block`, `cols` floats), the blocks in double (into `total`, `cols` doubles), and
/// the result rounded to float into `out` (a bias gradient).
void nsde_column_sums(const float *x, int64_t rows, int64_t cols, int64_t ld, float *block, double *total, float *out);

/// `out = g · (1 − y²)` for `[rows, cols]` matrices (the gradient through `y = tanh(x)`, as
/// nsde_tanh_backward) and the column sums of `out` into `sums` (as nsde_column_sums), in one pass
/// over each block of 64 rows.
void nsde_tanh_backward_column_sums(const float *g, const float *y, float *out, int64_t rows, int64_t cols, float *block,
                                    double *total, float *sums);

/// The elementwise updates `nsde_small_sgemm` can apply to a value `v` (see nsde_gemm_epilogue).
typedef enum {
    NSDE_UPDATE_NONE = 0,
    /// `state + v · (noise · a + b)`, rounded as `nsde_adding_product_affine` (a dropout-noise
    /// Euler–Maruyama step: y + f ⊙ (σ·ΔW + Δt)).
    NSDE_UPDATE_PRODUCT_AFFINE = 1,
    /// `(state + a · v) + b · noise`, rounded as `nsde_adding_scaled` (an additive-noise step:
    /// y + f·Δt + σ·ΔW).
    NSDE_UPDATE_SCALED = 2,
} nsde_update_form;

/// What `nsde_small_sgemm` does with each output element's sum `s = Σ_k op(A)[i, k] · B[k, j]`, in this
/// order (each step only where its field is set; all zero: `C[i, j] = s`):
/// `s + bias[j]`; its tanh (`nsde_tanh`'s approximation); times `1 − y²` for `y = tanh_output[i, j]`
/// (the gradient through `y = tanh(·)`); the update `update` with `state = update_state[i, j]` and
/// `noise = update_noise[i, j]`; `C[i, j] + it` (with `accumulate`). Each step rounds as the
/// library's separate kernel for it does (`nsde_bias_tanh_inplace`, `nsde_tanh_backward`,
/// `nsde_adding_product_affine` / `nsde_adding_scaled`, `nsde_add_inplace`), so the fused product
/// equals the unfused composition bit for bit.
typedef struct {
    const float *bias;             ///< `n` floats, or NULL.
    int tanh;                      ///< Nonzero: tanh after the bias.
    const float *tanh_output;      ///< `[m, n]` with row stride `ld`, or NULL.
    nsde_update_form update;       ///< The update, or NSDE_UPDATE_NONE.
    const float *update_state;     ///< `[m, n]` with row stride `ld` (with an update).
    const float *update_noise;     ///< `[m, n]` with row stride `ld` (with an update).
    float update_a, update_b;      ///< The update's coefficients.
    int64_t ld;                    ///< Row stride of `tanh_output`, `update_state` and `update_noise`.
    int accumulate;                ///< Nonzero: add into C.
} nsde_gemm_epilogue;

/// `C = epilogue(op(A) · B)` for row-major matrices by the library's register-tiled kernel (tiles of
/// 4 rows by 64 columns, no packing): `op(A)` is `m × k` (stored `m × k` with row stride `lda`, or
/// with `trans_a` stored `k × m`), `B` is `k × n` with row stride `ldb`, `C` is `m × n` with row stride
/// `ldc`; `n` must be a multiple of 16. Each sum is fused multiply-adds in `k` order from zero, so any
/// split of C between threads gives the same bits, as does every instruction-set level. `epilogue`
/// may be NULL (a plain product).
void nsde_small_sgemm(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                      int64_t ldb, float *c, int64_t ldc, const nsde_gemm_epilogue *epilogue);

/// 1 when every element is finite (neither infinite nor NaN), else 0.
int nsde_all_finite(const float *x, int64_t count);

/// A tanh MLP drift `f(y) = tanh(y W1ᵀ + b1) W2ᵀ + b2` for `rows` states of `features` values through
/// `hidden` units (PyTorch layouts: `w1` `[hidden, features]`, `w2` `[features, hidden]`; `w1t`, `w2t`
/// their transposes; `b1`, `b2` may be NULL). `features` and `hidden` must be multiples of 16 (the
/// register-tiled kernel's columns).
typedef struct {
    int64_t rows, features, hidden;
    const float *w1, *w1t, *b1, *w2, *w2t, *b2;
} nsde_tanh_mlp;

/// One Euler–Maruyama step `next = update(f(y))` (`form`, `state`, `noise`, `update_a`, `update_b`
/// as in nsde_gemm_epilogue; `state` is y for the SDE updates), keeping the hidden layer's output
/// `hidden` (`[rows, hidden]`): the two products of the library's fused Linear–Tanh and Linear
/// layers, the same bits. Single-threaded.
void nsde_tanh_mlp_step(const nsde_tanh_mlp *mlp, const float *y, nsde_update_form form, const float *state, const float *noise,
                        float update_a, float update_b, float *hidden, float *next);

/// Floats of scratch nsde_tanh_mlp_steps_pullback needs (8-byte aligned).
int64_t nsde_tanh_mlp_pullback_scratch(const nsde_tanh_mlp *mlp);

/// The pullback of `steps` steps of nsde_tanh_mlp_step, last to first, exactly as the library's
/// tape-free backpropagation runs them one kernel at a time: step `n` started from `states[n]`,
/// kept `hiddens[n]`, drew `noises[n]` (read with NSDE_UPDATE_PRODUCT_AFFINE, dropout noise: the
/// update's pullback is `g ⊙ (ΔW·sigma + dt)`; with NSDE_UPDATE_SCALED, additive noise, `g·dt`) over
/// `dts[n]`; `cotangents[n]` (or NULL) is a gradient of `states[n]` from elsewhere, added before the
/// drift's pullback adds into it. `g` holds ∂L/∂y after the last step and receives ∂L/∂y₀. The
/// parameters' gradients are summed into `dw1`, `db1`, `dw2`, `db2` (`db1`, `db2` NULL without
/// biases): the last step's stored and each earlier one's added, or with `accumulate` every step's
/// added to what they hold (a solve's steps pulled back in several calls, last stretch first, give
/// the bits of one call). Single-threaded.
void nsde_tanh_mlp_steps_pullback(const nsde_tanh_mlp *mlp, int64_t steps, const float *const *states,
                                  const float *const *hiddens, const float *const *noises, const float *dts,
                                  nsde_update_form form, float sigma, const float *const *cotangents, float *g, float *dw1,
                                  float *db1, float *dw2, float *db2, int accumulate, float *scratch);

/// The tiling of one Winograd F(4x4, 3x3) convolution (the library's
/// `WinogradConvolution.TileGeometry`): `[N, ·, height, width]` images, zero padding `padding`,
/// `out_height x out_width` outputs cut into `tiles_h x tiles_w` tiles of 4x4 pixels per image;
/// `phase_length` is the length of one phase row in the scratch buffers (`tiles_w` rounded up to
/// 8, plus 8).
typedef struct nsde_winograd_tiling {
    int64_t batch, height, width, padding;
    int64_t out_height, out_width, tiles_h, tiles_w;
    int64_t phase_length;
} nsde_winograd_tiling;

/// Input transform `v[e * e_stride + c * ld + p] = (Bᵀ d B)[e]` of the 6x6 input tiles of the
/// global tile rows `row_begin ..< row_end` of `x` (`[N, channels, height, width]`), `p` counted
/// from the first tile of `row_begin`, interpolation points `0, ±1, ±h, ∞`. Writes up to 7
/// columns past the last tile. Scratch: `rows`, `max(6, 4 tiles_h + 2) * 4 * phase_length` floats.
void nsde_winograd_input(const nsde_winograd_tiling *t, float h, const float *x, int64_t channels,
                         int64_t row_begin, int64_t row_end, float *v, int64_t ld, int64_t e_stride, float *rows);

/// Output-gradient transform `z[e * e_stride + o * ld + p] = (A dY Aᵀ)[e]` of the 4x4 tiles of
/// `dy` (`[N, channels, out_height, out_width]`). Writes up to 7 columns past the last tile.
/// Scratch as for `nsde_winograd_input`.
void nsde_winograd_gradient(const nsde_winograd_tiling *t, float h, const float *dy, int64_t channels,
                            int64_t row_begin, int64_t row_end, float *z, int64_t ld, int64_t e_stride, float *rows);

/// Output transform `y = Aᵀ m A + bias[o]` of `m[e * e_stride + o * ld + p]` into the part
/// inside the image of the 4x4 output tiles (`y`: `[N, channels, out_height, out_width]`);
/// `bias` may be NULL (adds zero). Reads up to 7 columns past the last tile, which must be
/// finite. Scratch as for `nsde_winograd_input`.
void nsde_winograd_output(const nsde_winograd_tiling *t, float h, const float *m, int64_t ld, int64_t e_stride,
                          int64_t channels, int64_t row_begin, int64_t row_end, const float *bias, float *y,
                          float *rows);

/// nChw16c → NCHW (`channels` a multiple of 16, `hw` pixels per channel) for the units
/// `unit_begin ..< unit_end` (unit = sample · channels / 16 + channel block), adding
/// `addend[c · hw + s]` (one `[channels, hw]` map broadcast over the samples) when non-NULL.
void nsde_unblock16(const float *src, float *dst, int64_t unit_begin, int64_t unit_end, int64_t channels, int64_t hw,
                    const float *addend);
/// NCHW → nChw16c for the units `unit_begin ..< unit_end` (as in `nsde_unblock16`).
void nsde_block16(const float *src, float *dst, int64_t unit_begin, int64_t unit_end, int64_t channels, int64_t hw);
/// NCHW → nChw16c of every sample for channel block `block` and pixels `pixel_begin ..<
/// pixel_end`, writing `sums[c · hw + s]` = Σ over the samples of `src` (in double, in sample
/// order, as `nsde_sum_rows`) for those channels and pixels.
void nsde_block16_summing(const float *src, float *dst, int64_t batch, int64_t channels, int64_t hw, int64_t block,
                          int64_t pixel_begin, int64_t pixel_end, float *sums);

/// The noise term of an Euler–Maruyama update whose state is in nChw16c and whose increments are
/// in NCHW order (see nsde_em_update_blocked).
typedef enum { NSDE_BLOCKED_ADDITIVE = 0, NSDE_BLOCKED_MULTIPLICATIVE = 1, NSDE_BLOCKED_DROPOUT = 2 } nsde_blocked_noise;

/// One Euler–Maruyama update of a state `y` and drift `f` in nChw16c (`[N, C/16, hw, 16]`) with the
/// Brownian increments `dw` in NCHW order (`[N, C, hw]`: element (n, c, s) of dw belongs to element
/// (n, c, s) of y), written to `out` in nChw16c, for the units `unit_begin ..< unit_end` (as in
/// `nsde_unblock16`). The operations and roundings of the NCHW updates: additive
/// (y + dt·f) + σ·dw; multiplicative (y + dt·f) + σ·(y·dw); dropout y + f·(dw·σ + dt).
void nsde_em_update_blocked(nsde_blocked_noise noise, const float *y, const float *f, const float *dw, float *out,
                            int64_t unit_begin, int64_t unit_end, int64_t channels, int64_t hw, float dt, float sigma);

/// The pullback of nsde_em_update_blocked for the noises that read dw, upstream gradient `a` in
/// nChw16c: multiplicative writes `state` = a + (a·σ)·dw (and, when non-NULL, `drift` = a·dt);
/// dropout writes `drift` = a·(dw·σ + dt) (the state's gradient is a itself).
void nsde_em_pullback_blocked(nsde_blocked_noise noise, const float *a, const float *dw, float *state, float *drift,
                              int64_t unit_begin, int64_t unit_end, int64_t channels, int64_t hw, float dt, float sigma);

/// Winograd F(2x2, 3x3) convolutions on nChw16c (blocked_winograd.c): 3x3 kernels, stride 1,
/// channel counts that are multiples of 16, `pad` zero rows and columns on each side of the input
/// (an output of out_height x out_width reads input rows 2·ty − pad ... 2·ty − pad + 3).
///
/// Floats of the scratch buffer one call of nsde_wino2_forward or nsde_wino2_backward_weights
/// needs (`in_channels` and `out_channels` of that call).
int64_t nsde_wino2_scratch_floats(int64_t in_channels, int64_t out_channels, int64_t out_width);

/// The transformed weights U (`16 · out_channels · in_channels` floats) of `w` (`[O, C, 3, 3]`):
/// for the forward pass `[O/16, 16, C, 16]`; with `backward_data` those of the flipped, transposed
/// kernel that maps output gradients (O channels) to input gradients (C channels): `[C/16, 16, O, 16]`.
void nsde_wino2_weights(const float *w, int64_t out_channels, int64_t in_channels, int backward_data, float *u);

/// The weight gradient `dw` (`[O, C, 3, 3]`) from the transformed one `du` (`[16, C, O]`): Gᵀ dU G.
void nsde_wino2_weight_gradient(const float *du, int64_t out_channels, int64_t in_channels, float *dw);

/// y = x ⋆ w + bias for the samples `batch_begin ..< batch_end`: `x` `[N, C/16, H, W, 16]`, `u`
/// from nsde_wino2_weights, `bias` `[O]` or NULL, `y` `[N, O/16, out_height, out_width, 16]`.
void nsde_wino2_forward(const float *x, int64_t batch_begin, int64_t batch_end, int64_t in_channels, int64_t height,
                        int64_t width, const float *u, const float *bias, int64_t out_channels, int64_t out_height,
                        int64_t out_width, int64_t pad, float *y, float *scratch);

/// Adds the samples' transformed weight gradient into `du` (`[16, C, O]`) and, when non-NULL,
/// their bias gradient into `dbias` (`[O]`): `x` as in nsde_wino2_forward, `dy` the output gradient
/// `[N, O/16, out_height, out_width, 16]`.
void nsde_wino2_backward_weights(const float *x, const float *dy, int64_t batch_begin, int64_t batch_end,
                                 int64_t in_channels, int64_t height, int64_t width, int64_t out_channels,
                                 int64_t out_height, int64_t out_width, int64_t pad, float *du, float *dbias,
                                 float *scratch);

/// The same four functions for Winograd F(4x4, 3x3): 36 tile positions instead of 16 (`u` and
/// `du` hold `36 · O · C` floats), output tiles of 4x4 (input rows 4·ty − pad ... 4·ty − pad + 5).
int64_t nsde_wino4_scratch_floats(int64_t in_channels, int64_t out_channels, int64_t out_width);
void nsde_wino4_weights(const float *w, int64_t out_channels, int64_t in_channels, int backward_data, float *u);
void nsde_wino4_weight_gradient(const float *du, int64_t out_channels, int64_t in_channels, float *dw);
void nsde_wino4_forward(const float *x, int64_t batch_begin, int64_t batch_end, int64_t in_channels, int64_t height,
                        int64_t width, const float *u, const float *bias, int64_t out_channels, int64_t out_height,
                        int64_t out_width, int64_t pad, float *y, float *scratch);
void nsde_wino4_backward_weights(const float *x, const float *dy, int64_t batch_begin, int64_t batch_end,
                                 int64_t in_channels, int64_t height, int64_t width, int64_t out_channels,
                                 int64_t out_height, int64_t out_width, int64_t pad, float *du, float *dbias,
                                 float *scratch);

/// The name of the instruction-set level the loader picked for these kernels ("avx512f",
/// "avx2" or "baseline").
const char *nsde_kernels_isa(void);

/// A small number identifying the calling thread, fixed for the thread's life: threads are
/// numbered 0, 1, 2, … in the order they first call it (a thread-local read after the first
/// call). The tensor buffer pool keeps one free list per slot so that each thread reuses the
/// buffers it freed itself.
int64_t nsde_thread_slot(void);

#ifdef __cplusplus
}
#endif

#endif

// Euler–Maruyama steps of an SDE whose drift is a tanh MLP, f(y) = tanh(y W1ᵀ + b1) W2ᵀ + b2, and
// their pullback over a whole solve, composed of the library's kernels (the register-tiled GEMM
// with its epilogues, the elementwise updates, the column sums) in the order and with the
// arguments the Swift layers use for one step at a time: the same bits, without a Swift call per
// kernel. Single-threaded: a batch shard's solve (each thread runs its own shard).
#include "nsde_kernels.h"
#include <stddef.h>

void nsde_tanh_mlp_step(const nsde_tanh_mlp *mlp, const float *y, nsde_update_form form, const float *state, const float *noise,
                        float update_a, float update_b, float *hidden, float *next) {
    const int64_t rows = mlp->rows, d = mlp->features, h = mlp->hidden;
    // tanh(y W1ᵀ + b1), as Linear–Tanh's fused forward product.
    const nsde_gemm_epilogue first = { .bias = mlp->b1, .tanh = 1, .ld = h };
    nsde_small_sgemm(0, rows, h, d, y, d, mlp->w1t, h, hidden, h, &first);
    // update(y, a W2ᵀ + b2), as the last Linear's product with the step's update fused.
    const nsde_gemm_epilogue second = { .bias = mlp->b2, .update = form, .update_state = state, .update_noise = noise,
                                        .update_a = update_a, .update_b = update_b, .ld = d };
    nsde_small_sgemm(0, rows, d, h, hidden, h, mlp->w2t, d, next, d, &second);
}

int64_t nsde_tanh_mlp_pullback_scratch(const nsde_tanh_mlp *mlp) {
    const int64_t widest = mlp->features > mlp->hidden ? mlp->features : mlp->hidden;
    return mlp->rows * (mlp->features + mlp->hidden) + 4 * widest + 2;
}

// The bias gradient of one step, `g`'s column sums, stored into `sum` on the first step and added
// into it after (LinearOp.columnSums, then Elementwise.addInPlace).
static void bias_gradient(const float *g, int64_t rows, int64_t cols, int first, float *sum, float *scratch, float *block,
                          double *total) {
    if (first) {
        nsde_column_sums(g, rows, cols, cols, block, total, sum);
    } else {
        nsde_column_sums(g, rows, cols, cols, block, total, scratch);
        nsde_add_inplace(sum, scratch, cols);
    }
}

void nsde_tanh_mlp_steps_pullback(const nsde_tanh_mlp *mlp, int64_t steps, const float *const *states,
                                  const float *const *hiddens, const float *const *noises, const float *dts,
                                  nsde_update_form form, float sigma, const float *const *cotangents, float *g, float *dw1,
                                  float *db1, float *dw2, float *db2, int accumulate, float *scratch) {
    const int64_t rows = mlp->rows, d = mlp->features, h = mlp->hidden, widest = d > h ? d : h;
    // Scratch (nsde_tanh_mlp_pullback_scratch floats): ∂L/∂f, ∂L/∂z of the hidden layer, one step's
    // bias gradient, and the column sums' float and double partial sums.
    float *df = scratch, *dz = df + rows * d, *sums = dz + rows * h, *block = sums + widest;
    double *total = (double *)(block + widest + (widest & 1));   // 8-byte aligned (`scratch` is)
    for (int64_t n = steps - 1; n >= 0; n--) {
        const int first = n == steps - 1 && !accumulate;
        // The update's pullback (Diffusion.eulerMaruyamaUpdatePullback): ∂L/∂y passes as it is,
        // ∂L/∂f = g ⊙ (ΔW·σ + Δt) (dropout noise) or g·Δt (additive noise).
        if (form == NSDE_UPDATE_PRODUCT_AFFINE) nsde_product_affine(g, noises[n], sigma, dts[n], df, rows * d);
        else nsde_affine(g, dts[n], 0, df, rows * d);
        // An output's cotangent joins at its state, before the drift's pullback adds into it.
        if (cotangents[n]) nsde_add_inplace(g, cotangents[n], rows * d);
        // The last Linear (after a fused Linear–Tanh): its input gradient carried on through the
        // tanh, (df W2) ⊙ (1 − a²); its weight gradient dfᵀ a; its bias gradient.
        const nsde_gemm_epilogue through_tanh = { .tanh_output = hiddens[n], .ld = h };
        nsde_small_sgemm(0, rows, h, d, df, d, mlp->w2, h, dz, h, &through_tanh);
        const nsde_gemm_epilogue weight2 = { .accumulate = !first };
        nsde_small_sgemm(1, d, h, rows, df, d, hiddens[n], h, dw2, h, &weight2);
        if (db2) bias_gradient(df, rows, d, first, db2, sums, block, total);
        // The first Linear: dz W1 added into ∂L/∂y, dzᵀ y into its weight gradient, its bias gradient.
        const nsde_gemm_epilogue input = { .accumulate = 1 };
        nsde_small_sgemm(0, rows, d, h, dz, h, mlp->w1, d, g, d, &input);
        const nsde_gemm_epilogue weight1 = { .accumulate = !first };
        nsde_small_sgemm(1, h, d, rows, dz, h, states[n], d, dw1, d, &weight1);
        if (db1) bias_gradient(dz, rows, h, first, db1, sums, block, total);
    }
}

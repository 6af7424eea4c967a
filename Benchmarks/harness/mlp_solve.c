// One batch shard of `nsde bench mlp-sde`'s solve (128 rows, d 64, hidden 128, 100 Euler–Maruyama
// steps, backprop) run with the library's C kernels and nsde's layouts but without Swift: the time of
// each kernel call (time-stamp counter), to see where the solve's time goes and what the Swift layer
// adds. Built and run by Benchmarks/harness/mlp_solve.sh; the values are not nsde's (its own weights,
// noise offsets and loss), the work is.
//
//   mlp_solve [--additive] [--runs N] [--steps T] [--alias K]
//
// --alias K maps the steps' saved tensors onto K steps' buffers (wrong values, the same work): the
// difference to the plain run is what reading states saved long ago costs.
#include "nsde_kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

enum { B = 128, D = 64, H = 128, PHASES = 10 };
static const char *phase_names[PHASES] = { "philox", "fwd1 (y W1^T + b, tanh)", "fwd2 (a W2^T + b, update)", "update pullback",
                                           "column sums df", "dx2 ((g W2) * (1 - a^2))", "dW2 (g^T a)", "column sums dz",
                                           "dy (dz W1)", "dW1 (dz^T y)" };
static unsigned long long phase[PHASES], best[PHASES];
#define TIMED(id, call) do { unsigned long long t_ = __rdtsc(); call; phase[id] += __rdtsc() - t_; } while (0)

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float *buffer(size_t n) {
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, n * sizeof(float)) != 0) { fprintf(stderr, "mlp_solve: out of memory\n"); exit(1); }
    memset(p, 0, n * sizeof(float));
    return p;
}
static int compare(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    int additive = 0, runs = 60, steps = 100, alias = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--additive")) additive = 1;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--alias") && i + 1 < argc) alias = atoi(argv[++i]);
        else { fprintf(stderr, "usage: mlp_solve [--additive] [--runs N] [--steps T] [--alias K]\n"); return 2; }
    }
    if (runs < 1 || steps < 1 || alias < 0) { fprintf(stderr, "mlp_solve: --runs and --steps must be >= 1, --alias >= 0\n"); return 2; }
    const int slots = alias > 0 && alias < steps ? alias : steps;
    // nsde's layouts: W [out, in] for the pullbacks, Wᵀ [in, out] for the forward products.
    float *w1 = buffer(H * D), *w1t = buffer(D * H), *b1 = buffer(H), *w2 = buffer(D * H), *w2t = buffer(H * D), *b2 = buffer(D);
    srand(1);
    for (int i = 0; i < H * D; i++) { w1[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.25f; w2[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.18f; }
    for (int o = 0; o < H; o++) for (int i = 0; i < D; i++) w1t[i * H + o] = w1[o * D + i];
    for (int o = 0; o < D; o++) for (int i = 0; i < H; i++) w2t[i * D + o] = w2[o * H + i];
    float *ys = buffer((size_t)(slots + 1) * B * D), *as = buffer((size_t)slots * B * H), *noise = buffer((size_t)slots * B * D);
    float *gw1 = buffer(H * D), *gw2 = buffer(D * H), *a = buffer(B * D), *df = buffer(B * D), *dz = buffer(B * H);
    float block[H], sums[H];
    double total[H];
    const float dt = 1.0f / steps, sigma = 0.1f;
    double *times = malloc(sizeof(double) * runs);
    for (int run = 0; run < runs; run++) {
        memset(phase, 0, sizeof phase);
        for (int i = 0; i < B * D; i++) ys[i] = (i % 7) * 0.1f - 0.3f;
        const double t0 = now();
        for (int t = 0; t < steps; t++) {
            const int s = t % slots;
            float *y = ys + (size_t)s * B * D, *next = ys + (size_t)(s + 1) * B * D, *at = as + (size_t)s * B * H;
            float *dw = noise + (size_t)s * B * D;
            if (s + 1 == slots && slots < steps) next = ys;   // aliased: wrap around
            TIMED(0, nsde_philox_normal(1, 2, 3, (uint64_t)t * B * D / 4, B * D / 4, 0, sqrtf(dt), dw));
            nsde_gemm_epilogue e1 = { .bias = b1, .tanh = 1, .ld = H };
            TIMED(1, nsde_small_sgemm(0, B, H, D, y, D, w1t, H, at, H, &e1));
            nsde_gemm_epilogue e2 = { .bias = b2, .ld = D, .update = additive ? NSDE_UPDATE_SCALED : NSDE_UPDATE_PRODUCT_AFFINE,
                                      .update_state = y, .update_noise = dw, .update_a = additive ? dt : sigma,
                                      .update_b = additive ? sigma : dt };
            TIMED(2, nsde_small_sgemm(0, B, D, H, at, H, w2t, D, next, D, &e2));
        }
        const int last_slot = slots < steps ? ((steps - 1) % slots + 1) % slots : steps;
        const float *last = ys + (size_t)last_slot * B * D;
        for (int i = 0; i < B * D; i++) a[i] = 2 * last[i] / (B * D);
        memset(gw1, 0, sizeof(float) * H * D);
        memset(gw2, 0, sizeof(float) * D * H);
        for (int t = steps - 1; t >= 0; t--) {
            const int s = t % slots;
            float *y = ys + (size_t)s * B * D, *at = as + (size_t)s * B * H, *dw = noise + (size_t)s * B * D;
            if (additive) TIMED(3, nsde_affine(a, dt, 0, df, B * D));
            else TIMED(3, nsde_product_affine(a, dw, sigma, dt, df, B * D));
            TIMED(4, nsde_column_sums(df, B, D, D, block, total, sums));
            nsde_gemm_epilogue through_tanh = { .tanh_output = at, .ld = H };
            TIMED(5, nsde_small_sgemm(0, B, H, D, df, D, w2, H, dz, H, &through_tanh));
            nsde_gemm_epilogue accumulate2 = { .accumulate = 1, .ld = H };
            TIMED(6, nsde_small_sgemm(1, D, H, B, df, D, at, H, gw2, H, &accumulate2));
            TIMED(7, nsde_column_sums(dz, B, H, H, block, total, sums));
            nsde_gemm_epilogue accumulate_state = { .accumulate = 1, .ld = D };
            TIMED(8, nsde_small_sgemm(0, B, D, H, dz, H, w1, D, a, D, &accumulate_state));
            nsde_gemm_epilogue accumulate1 = { .accumulate = 1, .ld = D };
            TIMED(9, nsde_small_sgemm(1, H, D, B, dz, H, y, D, gw1, D, &accumulate1));
        }
        times[run] = now() - t0;
        for (int p = 0; p < PHASES; p++) if (run == 0 || phase[p] < best[p]) best[p] = phase[p];
    }
    // The counter's rate, measured against the clock.
    const double c0 = now();
    const unsigned long long k0 = __rdtsc();
    while (now() - c0 < 0.05) {}
    const double ticks_per_ms = (double)(__rdtsc() - k0) / ((now() - c0) * 1e3);
    qsort(times, runs, sizeof(double), compare);
    printf("MLP solve, one shard of %d rows, d %d, hidden %d, %d steps, %s noise%s: median %.3f ms, min %.3f ms over %d runs\n",
           B, D, H, steps, additive ? "additive" : "dropout", slots < steps ? " (saved tensors aliased)" : "", times[runs / 2] * 1e3,
           times[0] * 1e3, runs);
    double sum = 0;
    for (int p = 0; p < PHASES; p++) {
        const double ms = best[p] / ticks_per_ms;
        sum += ms;
        printf("  %-28s %7.3f ms (fastest run)\n", phase_names[p], ms);
    }
    const double gflop = 6.0 * 2 * B * D * H * steps * 1e-9;
    printf("  %-28s %7.3f ms; the six products are %.3f GFLOP (%.0f GFLOP/s at this total)\n", "sum", sum, gflop, gflop / sum * 1e3);
    printf("checksum %g\n", (double)gw1[5] + gw2[7] + a[3]);
    free(times);
    return 0;
}

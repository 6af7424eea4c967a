// The library's tanh of one float (shared by kernels.c and small_gemm.c, so that a fused GEMM
// epilogue rounds exactly as the elementwise kernels do).
#ifndef NSDE_TANH1_H
#define NSDE_TANH1_H

#include "clones.h"   // no fused multiply-add contraction

/// Eigen's odd [13/6] rational approximation of tanh of the clamped input.
static inline float nsde_tanh1(float a) {
    const float hi = 7.90531110763549805f, lo = -7.90531110763549805f;
    float v = lo >= a ? lo : a;        // Swift.max(a, lo)
    v = hi < v ? hi : v;               // Swift.min(v, hi)
    float x2 = v * v;
    float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * v;
    float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return p / q;
}

#endif

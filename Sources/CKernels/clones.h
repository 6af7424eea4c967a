// Shared by every C kernel file: each exported kernel is compiled once per instruction-set level
// (AVX-512, AVX2, baseline) and the dynamic loader picks the processor's (`NSDE_CLONES`); no
// multiply-add is contracted into a fused one, so every level rounds exactly as the others (fused
// multiply-adds appear only where a kernel asks for them explicitly).
#ifndef NSDE_CLONES_H
#define NSDE_CLONES_H

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#ifndef NSDE_CLONES   // scripts/check-kernel-clones.sh builds one level at a time
#define NSDE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

#define INLINE static inline __attribute__((always_inline))

#endif

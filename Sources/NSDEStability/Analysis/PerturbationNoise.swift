/// How the noise enters the perturbation equation dε = f_Δ dt + G_Δ dB (paper eq. 14), where
/// G_Δ(ε) = G(h + ε) − G(h) for the two solutions' shared Brownian path. This decides which
/// stability bound Theorem 3.2 gives.
///
/// | case | G(h) | G_Δ(ε) | noise in the bound |
/// |---|---|---|---|
/// | ``none`` | 0 | 0 | — |
/// | ``additive`` | σI | 0: cancels | — (σ acts only through the trajectory h_t) |
/// | ``multiplicativeScalar`` | σh, one dB per sample (m = 1) | σε | −σ²/2: Corollary 3.2.1 |
/// | ``multiplicativeDiagonal`` | σ diag(h), one dB per element | σ diag(ε) | +σ²(½ − 1/n): no help |
/// | ``dropout`` | σ diag f(h) | σ diag(f(h + ε) − f(h)) | +σ²L²/2: no help |
/// | ``learned`` | σ tanh(G_v(h)) | G(h + ε) − G(h) | not bounded here |
public enum PerturbationNoise: String, CaseIterable, Sendable {
    /// No noise (a Neural ODE, or σ = 0).
    case none
    /// Additive noise σI: the shared increments cancel in ε.
    case additive
    /// Multiplicative noise σh driven by one Brownian motion per sample: the corollary's setting.
    case multiplicativeScalar = "multiplicative-scalar"
    /// Multiplicative noise σ diag(h), an independent Brownian motion per element (the paper's
    /// experiments, ``PaperBlockSDE``).
    case multiplicativeDiagonal = "multiplicative-diagonal"
    /// Dropout noise σ diag f(h).
    case dropout
    /// A learned diffusion network.
    case learned
}

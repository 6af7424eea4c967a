import NSDETensor

/// g = σ·diag(y): multiplicative noise (paper §3.1), dY = f dt + σ Y ⊙ dW.
///
/// Diagonal noise: component i of g depends only on yᵢ, so Milstein applies.
public struct MultiplicativeDiffusion: Diffusion, Sendable {
    /// The noise scale σ (per √time).
    public var sigma: Float
    /// Creates σ·diag(y).
    public init(sigma: Float) { self.sigma = sigma }
    /// `.diagonal`.
    public var noise: NoiseType { .diagonal }
    /// σ·y.
    public func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor { y * sigma }
    /// σ·y ⊙ ΔW.
    public func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor { (y * dW) * sigma }
    /// y + f·Δt + σ·(y ⊙ ΔW) in two passes.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        y.addingScaled(f, h, y * dW, sigma)
    }
    /// Reads ΔW: the pullback is (a + (σ·a) ⊙ ΔW, a·Δt).
    public var updatePullbackReads: UpdatePullbackInputs { .noise }
    /// (a + (σ·a) ⊙ ΔW, a·Δt), as the tape's pullback of the update's two ops.
    public func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                            _ dW: Tensor?) -> (state: Tensor, drift: Tensor) {
        guard let dW else { preconditionFailure("MultiplicativeDiffusion.eulerMaruyamaUpdatePullback: ΔW is needed") }
        return (a + (a * sigma) * dW, a * h)
    }
}

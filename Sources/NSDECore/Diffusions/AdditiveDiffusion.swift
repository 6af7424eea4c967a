import NSDETensor

/// g = σ·I: additive noise of constant scale σ (paper §3.1, "additive noise").
///
/// dY = f dt + σ dW, identical in Itô and Stratonovich form. Euler–Maruyama has strong order 1.0
/// and ``SRA1`` strong order 1.5 on it.
public struct AdditiveDiffusion: Diffusion, Sendable {
    /// The noise scale σ (dimensionless; units of y per √time).
    public var sigma: Float
    /// Creates σ·I with `sigma` ≥ 0 (not checked).
    public init(sigma: Float) { self.sigma = sigma }
    /// `.additive`.
    public var noise: NoiseType { .additive }
    /// A tensor of y's shape filled with σ.
    public func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor { Tensor(repeating: sigma, shape: y.shape) }
    /// σ·ΔW.
    public func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor { dW * sigma }
    /// y + f·Δt + σ·ΔW in one pass.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        y.addingScaled(f, h, dW, sigma)
    }
    /// (y + f·Δt) + σ·ΔW as an update of f.
    public func eulerMaruyamaUpdateOfDrift(_ t: Double, _ y: Tensor, dt h: Float, _ dW: Tensor) -> ElementwiseUpdate? {
        .addingScaled(state: y, alpha: h, noise: dW, beta: sigma)
    }
    /// Reads nothing: the pullback is (a, a·Δt).
    public var updatePullbackReads: UpdatePullbackInputs { [] }
    /// (a, a·Δt), as the tape's pullback of the fused update.
    public func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                            _ dW: Tensor?) -> (state: Tensor, drift: Tensor) {
        (a, a * h)
    }
}

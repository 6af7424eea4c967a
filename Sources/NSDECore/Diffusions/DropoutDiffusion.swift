import NSDETensor

/// g = σ·diag(f(t, y)): the paper's "dropout" noise (§3.1), dY = f dt + σ f ⊙ dW, the
/// continuous limit of Gaussian dropout on the drift network's output.
///
/// Uses the drift the step has already computed, so the drift is evaluated once per stage.
/// - Note: gᵢ depends on all of y through f, so the noise is not truly diagonal; it is declared
///   `.diagonal` for its shapes, and Milstein's correction term is then only approximate (not checked).
public struct DropoutDiffusion: Diffusion, Sendable {
    /// The noise scale σ (per √time); the paper's dropout rate p corresponds to σ² = p / (1 − p).
    public var sigma: Float
    /// Creates σ·diag(f).
    public init(sigma: Float) { self.sigma = sigma }
    /// `.diagonal` (shapes of y; see the note on the type).
    public var noise: NoiseType { .diagonal }
    /// `true`: g is built from f.
    public var usesDrift: Bool { true }
    /// σ·f.
    public func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor { f * sigma }
    /// σ·f ⊙ ΔW.
    public func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor { (f * dW) * sigma }
    /// y + f ⊙ (Δt + σ·ΔW) in one pass (``Tensor/addingProduct(_:affine:scale:shift:)``).
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        y.addingProduct(f, affine: dW, scale: sigma, shift: h)
    }
    /// y + f ⊙ (σ·ΔW + Δt) as an update of f.
    public func eulerMaruyamaUpdateOfDrift(_ t: Double, _ y: Tensor, dt h: Float, _ dW: Tensor) -> ElementwiseUpdate? {
        .addingProductAffine(state: y, noise: dW, scale: sigma, shift: h)
    }
    /// Reads ΔW: the pullback is (a, a ⊙ (σ·ΔW + Δt)).
    public var updatePullbackReads: UpdatePullbackInputs { .noise }
    /// (a, a ⊙ (σ·ΔW + Δt)), as the tape's pullback of the fused update.
    public func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                            _ dW: Tensor?) -> (state: Tensor, drift: Tensor) {
        guard let dW else { preconditionFailure("DropoutDiffusion.eulerMaruyamaUpdatePullback: ΔW is needed") }
        return (a, Elementwise.productAffine(a, dW, scale: sigma, shift: h))
    }
}

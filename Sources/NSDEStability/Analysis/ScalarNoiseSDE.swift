import NSDECore
import NSDENN
import NSDETensor

/// `base` driven by one scalar Brownian motion per sample instead of one per state element:
/// dY = f(t, Y) dt + g(t, Y) dB with B one-dimensional (m = 1), g of the state's shape.
///
/// Corollary 3.2.1 of Liu et al. (2019) is stated for G(h) = σh with m = 1: every element of the
/// hidden state multiplies the same dB. The paper's classifiers (and ``PaperBlockSDE``) draw an
/// independent increment per element (diagonal noise), which that corollary does not cover.
/// Wrapping a diagonal-noise SDE in this type gives the corollary's setting with the same drift
/// and the same g.
///
/// - Note: `base`'s ``SDE/diffusion(_:_:drift:)`` must return g of the state's shape (true for
///   diagonal and additive noise); it is multiplied by ΔW `[batch, 1, …, 1]` by broadcasting.
///   The Euler–Maruyama update is the protocol's default (g·ΔW, then one fused add), not
///   `base`'s fused form, which may assume ΔW of the state's shape.
public struct ScalarNoiseSDE<Base: SDE>: SDE {
    /// The wrapped SDE (diagonal or additive noise).
    public let base: Base

    /// Drives `base` with one Brownian motion per sample.
    public init(_ base: Base) {
        precondition(base.noise == .diagonal || base.noise == .additive || base.noise == .scalar,
                     "ScalarNoiseSDE: base noise must be diagonal, additive or scalar, got \(base.noise)")
        self.base = base
    }

    /// `base`'s calculus.
    public var calculus: StochasticCalculus { base.calculus }
    /// `.scalar`: ΔW is `[batch, 1, …, 1]`.
    public var noise: NoiseType { .scalar }
    /// `base`'s parameters.
    public var parameters: [Parameter] { base.parameters }
    /// Whether `base` has noise.
    public var hasNoise: Bool { base.hasNoise }
    /// f(t, y).
    public func drift(_ t: Double, _ y: Tensor) -> Tensor { base.drift(t, y) }
    /// g(t, y), of y's shape.
    public func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { base.diffusion(t, y, drift: drift) }
    /// g(t, y) ⊙ ΔW with ΔW `[batch, 1, …, 1]` broadcast over the state.
    public func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        base.diffusion(t, y, drift: drift) * dW
    }
}

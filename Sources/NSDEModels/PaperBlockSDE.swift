import NSDECore
import NSDENN
import NSDETensor

/// The SDE inside the paper's classifier block (Liu et al. 2019, eq. 2–3):
/// dh = f(h, t; w) dt + G(h, t) dB on [0, T], with f the ``ConvDrift`` and G one of the paper's
/// diffusions, chosen by ``BlockNoise`` and scaled by σ:
///
/// | noise | G(h, t) | Euler–Maruyama update (passes over h) |
/// |---|---|---|
/// | `ode` | 0 | h + f·Δt (1; no increments drawn) |
/// | `additive` | σ·I | h + f·Δt + σ·ΔW (1) |
/// | `multiplicative` | σ·diag h | h + f·Δt + σ·h ⊙ ΔW (2) |
/// | `dropout` | σ·diag f (f from the same step) | h + f ⊙ (Δt + σ·ΔW) (2) |
/// | `learned` | σ·tanh(``ConvDiffusion``(h)) | h + f·Δt + G ⊙ ΔW |
///
/// Time t is passed to the drift's concatenated time channel. The calculus is chosen by the
/// caller (it follows the solver in ``PaperClassifier``); the noise is diagonal (additive for
/// `additive` and `ode`).
public struct PaperBlockSDE: SDE {
    /// f(h, t; w).
    public let driftNetwork: ConvDrift
    /// The learned diffusion network (only for `learned`).
    public let diffusionNetwork: ConvDiffusion?
    /// Which G.
    public let kind: BlockNoise
    /// The noise scale σ (0 makes every kind an ODE).
    public let sigma: Float
    /// Itô or Stratonovich.
    public let calculus: StochasticCalculus

    /// Creates the block's SDE.
    public init(drift: ConvDrift, diffusion: ConvDiffusion? = nil, kind: BlockNoise, sigma: Float, calculus: StochasticCalculus = .ito) {
        precondition(kind != .learned || diffusion != nil, "PaperBlockSDE: learned noise needs a diffusion network")
        self.driftNetwork = drift
        self.diffusionNetwork = diffusion
        self.kind = kind
        self.sigma = sigma
        self.calculus = calculus
    }

    /// Diagonal (additive for `additive` and for no noise).
    public var noise: NoiseType { kind == .additive || !hasNoise ? .additive : .diagonal }
    /// `false` for `ode` or σ = 0.
    public var hasNoise: Bool { kind != .ode && sigma != 0 }
    /// The drift's parameters, then the diffusion network's.
    public var parameters: [Parameter] { driftNetwork.parameters + (diffusionNetwork?.parameters ?? []) }

    /// f(h, t).
    public func drift(_ t: Double, _ y: Tensor) -> Tensor { driftNetwork(Float(t), y) }

    /// G(h, t), using the step's drift for `dropout`.
    public func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor {
        guard hasNoise else { return Tensor(repeating: 0, shape: y.shape) }
        switch kind {
        case .ode: return Tensor(repeating: 0, shape: y.shape)
        case .additive: return Tensor(repeating: sigma, shape: y.shape)
        case .multiplicative: return y * sigma
        case .dropout: return (drift ?? self.drift(t, y)) * sigma
        case .learned: return diffusionNetwork!(Float(t), y) * sigma
        }
    }

    /// G·ΔW without forming G where possible.
    public func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        guard hasNoise else { return Tensor(repeating: 0, shape: y.shape) }
        switch kind {
        case .additive: return dW * sigma
        case .multiplicative: return (y * dW) * sigma
        case .dropout: return ((drift ?? self.drift(t, y)) * dW) * sigma
        default: return diffusion(t, y, drift: drift) * dW
        }
    }

    /// The fused updates of the table above.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        guard hasNoise else { return y.addingScaled(f, h, f, 0) }
        switch kind {
        case .ode: return y.addingScaled(f, h, f, 0)
        case .additive: return y.addingScaled(f, h, dW, sigma)
        case .multiplicative: return y.addingScaled(f, h, y * dW, sigma)
        case .dropout: return y.addingProduct(f, dW.affine(scale: sigma, shift: h))
        case .learned: return y.addingScaled(f, h, diffusionNetwork!(Float(t), y) * dW, sigma)
        }
    }
}

/// A learned diffusion network G(h, t; v) for the paper's block (eq. 3): `GN → ReLU →
/// ConcatConv(3x3) → tanh`, shape-preserving on `[N, C, H, W]`, bounded in (−1, 1) so that σ
/// sets the noise scale. Initialised like the drift's convolutions.
public final class ConvDiffusion: Module {
    public let norm: GroupNorm
    public let conv: ConcatConv2d

    /// A diffusion network on `channels` feature maps; `groups` of its GroupNorm (`nil`: the
    /// paper's min(32, C)).
    public init(channels: Int, groups: Int? = nil) {
        norm = GroupNorm(groups: groups ?? PaperClassifier.defaultGroupNormGroups(channels: channels), channels: channels)
        conv = ConcatConv2d(channels, channels)
        super.init()
    }

    /// tanh(conv(t, ReLU(GN(h)))), of h's shape.
    public func callAsFunction(_ t: Float, _ h: Tensor) -> Tensor { conv(t, norm.withReLU(h)).tanh() }
}

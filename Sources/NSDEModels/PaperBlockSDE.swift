import NSDECore
import NSDENN
import NSDETensor

/// The SDE inside the paper's classifier block (Liu et al. 2019, eq. 2–3):
/// dh = f(h, t; w) dt + G(h, t) dB on [0, T], with f the ``ConvDrift`` and G one of the paper's
/// diffusions, chosen by ``BlockNoise`` and scaled by σ. G is the library's ``Diffusion`` for the
/// noise (``BlockNoise/diffusion(sigma:network:)``), so each noise's value, product and fused
/// Euler–Maruyama update are written once, in `NSDECore/Diffusions`:
///
/// | noise | G(h, t) | ``Diffusion`` | Euler–Maruyama update (passes over h) |
/// |---|---|---|---|
/// | `ode` (or σ = 0) | 0 | ``NoDiffusion`` | h + f·Δt (1; no increments drawn) |
/// | `additive` | σ·I | ``AdditiveDiffusion`` | h + f·Δt + σ·ΔW (1) |
/// | `multiplicative` | σ·diag h | ``MultiplicativeDiffusion`` | h + f·Δt + σ·h ⊙ ΔW (2) |
/// | `dropout` | σ·diag f (f from the same step) | ``DropoutDiffusion`` | h + f ⊙ (Δt + σ·ΔW) (2) |
/// | `learned` | σ·tanh(``ConvDiffusion``(h)) | ``LearnedBlockDiffusion`` | h + f·Δt + σ·(G_v ⊙ ΔW) |
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
    /// G as a ``Diffusion``.
    public let diffusionTerm: any Diffusion

    /// Creates the block's SDE.
    public init(drift: ConvDrift, diffusion: ConvDiffusion? = nil, kind: BlockNoise, sigma: Float, calculus: StochasticCalculus = .ito) {
        precondition(kind != .learned || diffusion != nil, "PaperBlockSDE: learned noise needs a diffusion network")
        self.driftNetwork = drift
        self.diffusionNetwork = diffusion
        self.kind = kind
        self.sigma = sigma
        self.calculus = calculus
        self.diffusionTerm = kind.diffusion(sigma: sigma, network: diffusion)
    }

    /// The diffusion's noise type: diagonal (additive for `additive` and for no noise).
    public var noise: NoiseType { diffusionTerm.noise }
    /// `false` for `ode` or σ = 0.
    public var hasNoise: Bool { diffusionTerm.hasNoise }
    /// The drift's parameters, then the diffusion network's.
    public var parameters: [Parameter] { driftNetwork.parameters + (diffusionNetwork?.parameters ?? []) }
    /// `true` for the parameter-free noises, whose updates are elementwise in h, f and ΔW.
    public var eulerMaruyamaUpdateIsElementwise: Bool { diffusionNetwork == nil }

    /// f(h, t).
    public func drift(_ t: Double, _ y: Tensor) -> Tensor { driftNetwork(Float(t), y) }

    /// G(h, t), using the step's drift when given (evaluating it only if G reads it).
    public func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor {
        diffusionTerm.value(t, y, drift: diffusionTerm.drift(drift, at: t, y, evaluate: self.drift))
    }

    /// G·ΔW without forming G where the diffusion allows.
    public func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        diffusionTerm.product(t, y, dW, drift: diffusionTerm.drift(drift, at: t, y, evaluate: self.drift))
    }

    /// The diffusion's fused update (the table above).
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt: Float, _ dW: Tensor) -> Tensor {
        diffusionTerm.eulerMaruyamaUpdate(t, y, drift: f, dt: dt, dW)
    }
}

extension BlockNoise {
    /// The ``Diffusion`` of this noise at scale σ: ``NoDiffusion`` for `ode` or σ = 0, else
    /// ``AdditiveDiffusion``, ``MultiplicativeDiffusion``, ``DropoutDiffusion`` or
    /// ``LearnedBlockDiffusion`` (which needs `network`).
    public func diffusion(sigma: Float, network: ConvDiffusion? = nil) -> any Diffusion {
        guard self != .ode, sigma != 0 else { return NoDiffusion() }
        switch self {
        case .ode: return NoDiffusion()
        case .additive: return AdditiveDiffusion(sigma: sigma)
        case .multiplicative: return MultiplicativeDiffusion(sigma: sigma)
        case .dropout: return DropoutDiffusion(sigma: sigma)
        case .learned:
            guard let network else { preconditionFailure("BlockNoise.learned: the diffusion needs a ConvDiffusion network") }
            return LearnedBlockDiffusion(network: network, sigma: sigma)
        }
    }
}

/// G = σ·G_v(h, t) with the block's learned ``ConvDiffusion`` network (paper eq. 3; G_v is bounded by
/// its tanh). Diagonal; the Euler–Maruyama update is h + f·Δt + σ·(G_v ⊙ ΔW).
public struct LearnedBlockDiffusion: Diffusion {
    /// G_v(h, t).
    public let network: ConvDiffusion
    /// σ.
    public var sigma: Float

    /// σ·G_v with `network`.
    public init(network: ConvDiffusion, sigma: Float) {
        self.network = network
        self.sigma = sigma
    }

    /// Diagonal.
    public var noise: NoiseType { .diagonal }
    /// The network's parameters.
    public var parameters: [Parameter] { network.parameters }
    /// σ·G_v(h, t).
    public func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor { network(Float(t), y) * sigma }
    /// h + f·Δt + σ·(G_v ⊙ ΔW) in one fused pass after the product.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt: Float, _ dW: Tensor) -> Tensor {
        y.addingScaled(f, dt, network(Float(t), y) * dW, sigma)
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

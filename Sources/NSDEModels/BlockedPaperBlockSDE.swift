import NSDECore
import NSDENN
import NSDETensor

/// The paper block's SDE (``PaperBlockSDE``) with its state kept in oneDNN's blocked layout
/// `nChw16c` (`[N, C/16, H, W, 16]`) for the whole solve, so that the drift's activations are
/// converted once per solve rather than twice per step. ``PaperClassifier`` solves through it where
/// the processor's convolutions allow (``ConvDrift/supportsBlockedState(_:)``) for Euler–Maruyama
/// with backpropagation and the parameter-free noises; everything else uses ``PaperBlockSDE``.
///
/// The Brownian increments keep the NCHW order in which the Philox stream fills them: an increment
/// tensor of this SDE has the state's blocked shape, but its element at NCHW offset
/// ((n·C + c)·H + h)·W + w belongs to state element (n, c, h, w). The fused update
/// (``NSDETensor/Tensor/eulerMaruyamaUpdate(nChw16cDrift:increments:noise:dt:sigma:)``) reads them
/// in that order, so every pixel gets the noise it gets in the NCHW solve, and the solution agrees
/// with ``PaperBlockSDE``'s to rounding (the drift's GroupNorm statistics sum in another order).
struct BlockedPaperBlockSDE: SDE {
    /// f(h, t; w).
    let driftNetwork: ConvDrift
    /// The state's NCHW shape `[N, C, H, W]`.
    let shape: [Int]
    /// The drift's time maps at t = 1, computed once for the solve.
    let timeMaps: ConvDrift.UnitTimeMaps
    /// The parameter-free diffusion, for the values, products and the noise-free update.
    let diffusionTerm: any Diffusion
    /// The fused update's noise term; `nil` without noise.
    let updateNoise: Tensor.BlockedUpdateNoise?
    let sigma: Float

    /// The blocked form of `kind` at scale σ for states of NCHW shape `shape`, or `nil` where there is
    /// none (learned noise, or no `nChw16c` kernels for the shape on this processor).
    init?(drift: ConvDrift, kind: BlockNoise, sigma: Float, shape: [Int]) {
        guard kind != .learned, drift.supportsBlockedState(shape) else { return nil }
        self.driftNetwork = drift
        self.shape = shape
        self.timeMaps = drift.unitTimeMaps(shape: shape)
        self.sigma = sigma
        let term = kind.diffusion(sigma: sigma)
        self.diffusionTerm = term
        switch kind {
        case _ where !term.hasNoise: updateNoise = nil
        case .additive: updateNoise = .additive
        case .multiplicative: updateNoise = .multiplicative
        case .dropout: updateNoise = .dropout
        case .ode, .learned: updateNoise = nil
        }
    }

    /// Itô (the solver is Euler–Maruyama).
    var calculus: StochasticCalculus { .ito }
    /// The diffusion's noise type.
    var noise: NoiseType { diffusionTerm.noise }
    var hasNoise: Bool { diffusionTerm.hasNoise }
    var parameters: [Parameter] { driftNetwork.parameters }
    /// The fused update is elementwise (the drift's shape is checked on its own).
    var eulerMaruyamaUpdateIsElementwise: Bool { true }

    /// f(h, t) in `nChw16c`.
    func drift(_ t: Double, _ y: Tensor) -> Tensor {
        driftNetwork.blockedState(Float(t), y, shape: shape, timeMaps: timeMaps)
    }

    /// G(h, t) in `nChw16c` (elementwise in h and f, so the layout's own).
    func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor {
        diffusionTerm.value(t, y, drift: diffusionTerm.drift(drift, at: t, y, evaluate: self.drift))
    }

    /// G·ΔW with ΔW (in NCHW order) moved into `nChw16c` first.
    func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        let f = diffusionTerm.drift(drift, at: t, y, evaluate: self.drift)
        return diffusionTerm.product(t, y, dW.reshaped(shape).blockedNChw16c(), drift: f)
    }

    /// The fused update with ΔW read in NCHW order.
    func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt: Float, _ dW: Tensor) -> Tensor {
        guard let updateNoise else { return diffusionTerm.eulerMaruyamaUpdate(t, y, drift: f, dt: dt, dW) }
        return y.eulerMaruyamaUpdate(nChw16cDrift: f, increments: dW, noise: updateNoise, dt: dt, sigma: sigma)
    }
}

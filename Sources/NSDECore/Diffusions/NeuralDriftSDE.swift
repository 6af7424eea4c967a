import NSDENN
import NSDETensor

/// An SDE made of any drift — a closure or a neural-network ``Layer`` — and a ready-made
/// ``Diffusion``: dY = f(t, Y) dt + g(t, Y) dW.
///
/// ```swift
/// let sde = NeuralDriftSDE(drift: mlp, diffusion: DropoutDiffusion(sigma: 0.5))
/// let out = try sdeint(sde, y0: h, times: [0, 1], solver: .eulerMaruyama, dt: 0.1)
/// ```
/// The paper's neural SDE is Itô with Euler–Maruyama; pick `.stratonovich` to use the
/// Stratonovich solvers (Heun, Euler–Heun, reversible Heun) instead.
public struct NeuralDriftSDE<D: Diffusion>: SDE {
    /// The drift f(t, y), of y's shape.
    public let driftFunction: (Double, Tensor) -> Tensor
    /// The diffusion g.
    public let diffusionFunction: D
    /// The calculus (default Itô).
    public let calculus: StochasticCalculus
    /// The drift's trainable parameters followed by the diffusion's (see ``SDE/parameters``).
    public let parameters: [Parameter]

    /// Creates the SDE from a drift closure f(t, y).
    ///
    /// - Parameter parameters: the trainable parameters the closure reads; needed only by the
    ///   memory-saving gradient methods and forward sensitivity (backpropagation finds them itself).
    ///   The diffusion's own ``Diffusion/parameters`` are appended.
    public init(calculus: StochasticCalculus = .ito, drift: @escaping (Double, Tensor) -> Tensor, diffusion: D,
                parameters: [Parameter] = []) {
        self.calculus = calculus
        self.driftFunction = drift
        self.diffusionFunction = diffusion
        self.parameters = parameters + diffusion.parameters
        self.tapeFreeDrift = nil
    }

    /// The drift network when it can run without the tape (a supporting ``TapeFreeLayer``) and
    /// the diffusion has no parameters: `sdeint` then backpropagates through fixed
    /// Euler–Maruyama steps with one tape node for the whole solve (see ``GradientMethod/backprop``).
    private(set) var tapeFreeDrift: (any TapeFreeLayer)?

    /// Creates the SDE from an autonomous network f(y) = `layer(y)` (time is ignored); its
    /// parameters are listed in ``parameters``.
    public init(calculus: StochasticCalculus = .ito, drift layer: some Layer, diffusion: D) {
        guard let tapeFree = layer as? any TapeFreeLayer, tapeFree.supportsTapeFree else {
            self.init(calculus: calculus, drift: { _, y in layer(y) }, diffusion: diffusion, parameters: layer.parameters)
            return
        }
        // A tape-free layer lists its parameters without reflection (the module tree is walked
        // once, when the layer is built, instead of at every solve).
        self.init(calculus: calculus, drift: { _, y in layer(y) }, diffusion: diffusion,
                  parameters: uniqueParameters(tapeFree.tapeFreeParameters))
        if diffusion.parameters.isEmpty { tapeFreeDrift = tapeFree }
    }

    /// The diffusion's noise type.
    public var noise: NoiseType { diffusionFunction.noise }
    /// f(t, y).
    public func drift(_ t: Double, _ y: Tensor) -> Tensor { driftFunction(t, y) }
    /// g(t, y), using `drift` when given; otherwise f is evaluated only if the diffusion reads it.
    public func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor {
        diffusionFunction.value(t, y, drift: diffusionFunction.drift(drift, at: t, y, evaluate: driftFunction))
    }
    /// g(t, y)·ΔW through ``Diffusion/product(_:_:_:drift:)``.
    public func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        diffusionFunction.product(t, y, dW, drift: diffusionFunction.drift(drift, at: t, y, evaluate: driftFunction))
    }
    /// Whether the diffusion is nonzero.
    public var hasNoise: Bool { diffusionFunction.hasNoise }
    /// The diffusion's (fused) Euler–Maruyama update.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        diffusionFunction.eulerMaruyamaUpdate(t, y, drift: f, dt: h, dW)
    }
}

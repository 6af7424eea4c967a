import NSDENN
import NSDETensor

/// A stochastic differential equation dY = f(t, Y) dt + g(t, Y) dW (Itô) or
/// dY = f(t, Y) dt + g(t, Y) ∘ dW (Stratonovich).
///
/// States are tensors of any shape with the batch first, `[batch, …]`; time is a `Double` in model
/// time units. Conform by giving the calculus, the noise type and the two coefficient functions;
/// ``diffusionProduct(_:_:_:drift:)`` and ``brownianShape(state:)`` have defaults.
///
/// ```swift
/// struct GBM: SDE {               // dX = μX dt + σX dW (Itô)
///     var mu: Float, sigma: Float
///     var calculus: StochasticCalculus { .ito }
///     var noise: NoiseType { .diagonal }
///     func drift(_ t: Double, _ y: Tensor) -> Tensor { y * mu }
///     func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { y * sigma }
/// }
/// ```
public protocol SDE {
    /// The calculus the stochastic integral is read in.
    var calculus: StochasticCalculus { get }
    /// How g acts on ΔW, which fixes the shapes of g and ΔW (see ``NoiseType``).
    var noise: NoiseType { get }
    /// For `general` noise, the number of Brownian components `m`; ignored otherwise (default 1).
    var noiseDimension: Int { get }

    /// The drift f(t, y), of y's shape, per unit time.
    func drift(_ t: Double, _ y: Tensor) -> Tensor

    /// The diffusion g(t, y): y's shape, or `[batch, state, noise]` for `general` noise.
    ///
    /// - Parameter drift: f(t, y) when the caller has already computed it (solvers always pass
    ///   it), so diffusions built from the drift (dropout noise, σ·diag f) never evaluate f twice;
    ///   `nil` when unknown, in which case such a diffusion evaluates f itself.
    func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor

    /// The product g(t, y)·ΔW, of y's shape. The default is `noise.apply(diffusion(t, y, drift:), dW)`;
    /// override when the product is cheaper than forming g.
    func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor

    /// The shape of the Brownian motion for a state of shape `state` (default: from ``noise``
    /// and ``noiseDimension``, see ``NoiseType/brownianShape(state:generalNoiseDimension:)``).
    func brownianShape(state: [Int]) -> [Int]

    /// The trainable parameters the drift and diffusion read (default: none).
    ///
    /// Backpropagation finds parameters through the tape and ignores this list; the memory-saving
    /// gradient methods (``GradientMethod/adjoint``, ``GradientMethod/reversibleAdjoint``,
    /// ``GradientMethod/checkpointed(every:)``) and ``GradientMethod/forwardSensitivity`` compute
    /// gradients only for the parameters listed here.
    var parameters: [Parameter] { get }

    /// `false` when g ≡ 0 (an ODE written as an SDE): solvers then skip drawing Brownian
    /// increments (default `true`).
    var hasNoise: Bool { get }

    /// `true` when ``eulerMaruyamaUpdate(_:_:drift:dt:_:)`` is elementwise in y, f and ΔW (as the
    /// built-in diffusions' updates are), so it cannot combine a noise term of another shape than
    /// the state's: a solve's shape check then does not evaluate ``diffusionProduct(_:_:_:drift:)``
    /// on its own before the first fused update (default `false`: it does, once per solve).
    var eulerMaruyamaUpdateIsElementwise: Bool { get }

    /// The Euler–Maruyama update y + f·Δt + g(t, y)·ΔW given the drift `f` = f(t, y) already
    /// computed. The default combines ``diffusionProduct(_:_:_:drift:)`` with two additions;
    /// override with a fused form (the ready-made diffusions do) to save passes over the state.
    func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor
}

extension SDE {
    /// Default: one Brownian component (only read for `general` noise).
    public var noiseDimension: Int { 1 }

    /// Default: no parameters.
    public var parameters: [Parameter] { [] }

    /// Default: `true`.
    public var hasNoise: Bool { true }

    /// Default: `false`.
    public var eulerMaruyamaUpdateIsElementwise: Bool { false }

    /// Default: `y.addingScaled(f, Δt, g·ΔW, 1)`.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        y.addingScaled(f, h, diffusionProduct(t, y, dW, drift: f), 1)
    }

    /// Default: forms g with ``diffusion(_:_:drift:)`` and applies it with ``NoiseType/apply(_:_:)``.
    public func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        noise.apply(diffusion(t, y, drift: drift), dW)
    }

    /// Default: ``NoiseType/brownianShape(state:generalNoiseDimension:)`` with ``noiseDimension``.
    public func brownianShape(state: [Int]) -> [Int] {
        noise.brownianShape(state: state, generalNoiseDimension: noiseDimension)
    }
}

import NSDENN
import NSDETensor

/// A diffusion g(t, y) that can be paired with any drift to form an SDE (see ``NeuralDriftSDE``).
///
/// The drift f(t, y) that the current step has already computed is passed in, so a diffusion
/// built from it (``DropoutDiffusion``: σ·diag f) costs no extra drift evaluation.
public protocol Diffusion {
    /// How g acts on ΔW (see ``NoiseType``).
    var noise: NoiseType { get }
    /// Whether ``value(_:_:drift:)`` reads the drift (default `false`); when `false`, callers
    /// that have no drift at hand pass zeros instead of evaluating it.
    var usesDrift: Bool { get }
    /// g(t, y), of y's shape (or `[batch, state, noise]` for general noise), given the drift
    /// `f = f(t, y)` already computed at the same point.
    func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor
    /// g(t, y)·ΔW, of y's shape. Default: `noise.apply(value(t, y, drift: f), dW)`.
    func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor
    /// The trainable parameters g reads (default: none; ``NeuralDiffusion`` lists its network's).
    var parameters: [Parameter] { get }
    /// `false` for g ≡ 0 (``NoDiffusion``), so solvers skip drawing increments (default `true`).
    var hasNoise: Bool { get }
    /// y + f·Δt + g(t, y)·ΔW, fused where the diffusion allows (see ``SDE/eulerMaruyamaUpdate(_:_:drift:dt:_:)``).
    func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor
}

extension Diffusion {
    /// Default: the diffusion ignores the drift.
    public var usesDrift: Bool { false }

    /// Default: no parameters.
    public var parameters: [Parameter] { [] }

    /// Default: `true`.
    public var hasNoise: Bool { true }

    /// Default: `y.addingScaled(f, Δt, g·ΔW, 1)`.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        y.addingScaled(f, h, product(t, y, dW, drift: f), 1)
    }

    /// Default: forms g and applies it with ``NoiseType/apply(_:_:)``.
    public func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor {
        noise.apply(value(t, y, drift: f), dW)
    }
}

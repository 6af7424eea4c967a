import NSDETensor

/// g = 0: the SDE is the ODE dy = f(t, y) dt (the paper's "no noise" baseline).
///
/// Declared as additive noise, so every SDE solver accepts it; the product g·ΔW is a zero
/// tensor of y's shape and the Brownian increments are still drawn (they are ignored).
public struct NoDiffusion: Diffusion, Sendable {
    /// Creates the zero diffusion.
    public init() {}
    /// `.additive` (g does not depend on y).
    public var noise: NoiseType { .additive }
    /// A zero tensor of y's shape.
    public func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor { Tensor(repeating: 0, shape: y.shape) }
    /// `false`: no increments are drawn.
    public var hasNoise: Bool { false }
    /// y + f·Δt in one pass (ΔW is ignored).
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        y.addingScaled(f, h, f, 0)
    }
    /// Reads nothing: the pullback is (a, a·Δt).
    public var updatePullbackReads: UpdatePullbackInputs { [] }
    /// (a, a·Δt).
    public func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                            _ dW: Tensor?) -> (state: Tensor, drift: Tensor) {
        (a, a * h)
    }
    /// A zero tensor of y's shape.
    public func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor {
        Tensor(repeating: 0, shape: y.shape)
    }
}

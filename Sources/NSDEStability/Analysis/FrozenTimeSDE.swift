import NSDECore
import NSDENN
import NSDETensor

/// An SDE whose coefficients are read at one fixed time t*: dY = f(t*, Y) dt + g(t*, Y) dB, the
/// autonomous system obtained by freezing the time input of `base`.
///
/// Long-horizon stability analysis needs t → ∞, but the paper's drift networks take t as an
/// input channel and were trained only on t ∈ [0, T] (T = 1): running them to t = 50 feeds them
/// inputs far outside training. Freezing t at a time inside the training horizon studies the
/// trained vector field itself (one "depth" of the continuous network) for as long as needed.
///
/// Noise type, calculus, Brownian shape and parameters are `base`'s; the fused
/// Euler–Maruyama update is `base`'s at t*.
public struct FrozenTimeSDE<Base: SDE>: SDE {
    /// The wrapped SDE.
    public let base: Base
    /// The time t* every coefficient is evaluated at (model time units).
    public let time: Double

    /// Freezes `base` at t* = `time`.
    public init(_ base: Base, at time: Double) {
        self.base = base
        self.time = time
    }

    /// `base`'s calculus.
    public var calculus: StochasticCalculus { base.calculus }
    /// `base`'s noise type.
    public var noise: NoiseType { base.noise }
    /// `base`'s number of Brownian components (general noise).
    public var noiseDimension: Int { base.noiseDimension }
    /// `base`'s parameters.
    public var parameters: [Parameter] { base.parameters }
    /// Whether `base` has noise.
    public var hasNoise: Bool { base.hasNoise }
    /// f(t*, y).
    public func drift(_ t: Double, _ y: Tensor) -> Tensor { base.drift(time, y) }
    /// g(t*, y).
    public func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { base.diffusion(time, y, drift: drift) }
    /// g(t*, y)·ΔW.
    public func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        base.diffusionProduct(time, y, dW, drift: drift)
    }
    /// `base`'s Brownian shape.
    public func brownianShape(state: [Int]) -> [Int] { base.brownianShape(state: state) }
    /// `base`'s fused update at t*.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        base.eulerMaruyamaUpdate(time, y, drift: f, dt: h, dW)
    }
}

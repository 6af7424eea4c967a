import Foundation
import NSDETensor
@testable import NSDECore

/// Geometric Brownian motion dX = μX dt + σX dW (Itô), or the same process in Stratonovich
/// form dX = (μ − σ²/2)X dt + σX ∘ dW. Exact solution X_T = X₀ exp((μ − σ²/2)T + σW_T) in both.
struct GBM: SDE {
    var mu: Float
    var sigma: Float
    var calculus: StochasticCalculus = .ito
    var noise: NoiseType { .diagonal }
    func drift(_ t: Double, _ y: Tensor) -> Tensor {
        y * (calculus == .ito ? mu : mu - sigma * sigma / 2)
    }
    func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { y * sigma }

    /// The exact solution on the path with W_T = `w`.
    func exact(x0: Float, t: Double, w: Tensor) -> [Double] {
        w.scalars.map { Double(x0) * Foundation.exp((Double(mu) - Double(sigma * sigma) / 2) * t + Double(sigma) * Double($0)) }
    }
}

/// Ornstein–Uhlenbeck dX = θ(m − X) dt + σ dW (additive noise).
struct OU: SDE {
    var theta: Float, mean: Float, sigma: Float
    var calculus: StochasticCalculus { .ito }
    var noise: NoiseType { .additive }
    func drift(_ t: Double, _ y: Tensor) -> Tensor { (y - mean) * (-theta) }
    func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { Tensor(repeating: sigma, shape: y.shape) }
}

/// A nonlinear additive-noise SDE dX = (X/(1 + X²) − X) dt + σ dW (smooth, Lipschitz drift),
/// for strong order against a fine reference.
struct RationalAdditive: SDE {
    var sigma: Float
    var calculus: StochasticCalculus = .ito
    var noise: NoiseType { .additive }
    func drift(_ t: Double, _ y: Tensor) -> Tensor { y / (y.squared() + 1) - y }
    func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { Tensor(repeating: sigma, shape: y.shape) }
}

/// Least-squares slope of log(errors) against log(steps).
func logLogSlope(_ dts: [Double], _ errors: [Double]) -> Double {
    let x = dts.map { Foundation.log($0) }, y = errors.map { Foundation.log($0) }
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0
    for i in 0..<x.count { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx) }
    return sxy / sxx
}

/// Mean of |a − b| in Double.
func meanAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { Swift.abs($0 - $1) }.reduce(0, +) / Double(a.count)
}

/// Sample mean and variance in Double.
func meanAndVariance(_ xs: [Double]) -> (mean: Double, variance: Double) {
    let n = Double(xs.count)
    let m = xs.reduce(0, +) / n
    return (m, xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1))
}

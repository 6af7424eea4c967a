import Foundation
import NSDENN
import NSDEPlot
import NSDETensor

/// An empirical Lipschitz constant of a drift f near given states: the largest local spectral
/// norm ‖∂f/∂h(hₚ)‖₂ over the points hₚ, by power iteration, and optionally the largest local
/// one-sided Lipschitz constant (logarithmic norm) μ₂(∂f/∂h) = λ_max((J + Jᵀ)/2).
///
/// **Method.** At each point and for each sample of the batch separately (the Jacobian of a
/// per-sample network is block-diagonal), power iteration on JᵀJ: v ← Jᵀ(Jv)/‖Jᵀ(Jv)‖, with Jv
/// by forward-mode differentiation (``valueAndJVP(of:at:tangent:)``) and Jᵀu by reverse mode
/// (``valueAndPullback(of:at:cotangent:)``); both exact up to float32 rounding, no finite
/// differences. The reported norm is ‖Jv‖ for the final unit v. The one-sided constant is power
/// iteration on S + cI, S = (J + Jᵀ)/2, c = 1.1·(that point's norm estimate) (which makes the
/// shifted matrix positive semi-definite when the norm estimate is within 10 %), reported as the
/// Rayleigh quotient vᵀSv of the final unit v.
///
/// **What it is, honestly.**
/// - Each number is a **lower bound** of the local quantity at that point (a Rayleigh quotient
///   never exceeds the top eigenvalue), close to it once the iteration has converged (the
///   convergence rate is the ratio of the two largest singular values squared).
/// - The maximum over points is a **lower bound** of the global Lipschitz constant L of the
///   paper's Assumption 2 and Corollary 3.2.1, which is a supremum over all of ℝⁿ (for a
///   piecewise-smooth f, sup ‖J‖ over the states the network can reach). Points are usually
///   taken along the trajectory, where the dynamics actually live.
/// - GroupNorm makes L scale like 1/‖h‖ (GN(ch) = GN(h) for c > 0), so L depends strongly on the
///   states sampled.
///
/// - Note: Reverse mode accumulates into the gradients of the parameters f reads; the
///   `parameters` passed to ``estimate(_:at:parameters:)`` get their gradients back as they were.
public struct LipschitzEstimator: Equatable, Sendable {
    /// Power iterations per point (≥ 1; default 20) for the norm, and as many for the one-sided
    /// constant.
    public var iterations: Int
    /// Whether to estimate the one-sided constant as well (default `true`; doubles the cost).
    public var oneSided: Bool
    /// The Philox key of the starting vectors.
    public var seed: UInt64

    /// Creates the settings.
    public init(iterations: Int = 20, oneSided: Bool = true, seed: UInt64 = 0) {
        self.iterations = iterations
        self.oneSided = oneSided
        self.seed = seed
    }

    /// Estimates the local spectral norms (and one-sided constants) of `f` at `points`.
    ///
    /// - Parameters:
    ///   - f: the drift h ↦ f(h), `[batch, …]` to the same shape, acting on samples
    ///     independently. Every op it uses must support forward mode.
    ///   - points: states `[batch, …]` (any batch size each).
    ///   - parameters: the parameters `f` reads, whose gradients are restored afterwards.
    /// - Returns: see ``LipschitzEstimate``.
    /// - Throws: ``StabilityError/invalidParameter(name:value:expected:)`` for no points or
    ///   iterations < 1.
    /// - Complexity: per point, ``iterations`` × (one JVP + one VJP) of f, twice with ``oneSided``.
    public func estimate(_ f: (Tensor) -> Tensor, at points: [Tensor], parameters: [Parameter] = []) throws(StabilityError) -> LipschitzEstimate {
        guard !points.isEmpty else { throw .invalidParameter(name: "points", value: "[]", expected: "at least one state") }
        guard iterations >= 1 else { throw .invalidParameter(name: "iterations", value: "\(iterations)", expected: "at least 1") }
        let savedGradients = parameters.map(\.grad)
        defer { for (p, g) in zip(parameters, savedGradients) { p.value.grad = g } }

        var norms: [Double] = [], oneSidedValues: [Double] = []
        for (index, point) in points.enumerated() {
            let x = point.detached()
            func jvp(_ v: Tensor) -> Tensor { valueAndJVP(of: f, at: x, tangent: v).jvp }
            func vjp(_ u: Tensor) -> Tensor { valueAndPullback(of: f, at: x, cotangent: u).vjp }
            // Norm: power iteration on JᵀJ.
            var v = normalized(Tensor.randomNormal(x.shape, seed: seed, stream: UInt64(2 * index)))
            var jv = jvp(v)
            for _ in 1..<iterations {
                v = normalized(vjp(jv))
                jv = jvp(v)
            }
            let local = LyapunovEstimator.sampleNorms(jv)
            norms += local
            guard oneSided else { continue }
            // One-sided: power iteration on S + cI, S = (J + Jᵀ)/2.
            let shift = LyapunovEstimator.perSample(local.map { Float(1.1 * $0) }, rank: x.rank)
            var w = normalized(Tensor.randomNormal(x.shape, seed: seed, stream: UInt64(2 * index + 1)))
            var sw = (jvp(w) + vjp(w)) * 0.5
            for _ in 1..<iterations {
                w = normalized(sw + w * shift)
                sw = (jvp(w) + vjp(w)) * 0.5
            }
            oneSidedValues += Self.sampleDots(w, sw)         // vᵀSv with ‖v‖ = 1
        }
        return LipschitzEstimate(lipschitz: norms.max() ?? .nan, meanLocal: SampleStatistics(norms).mean,
                                 oneSided: oneSided ? oneSidedValues.max() : nil, localNorms: norms,
                                 points: points.count, iterations: iterations)
    }

    /// `x` scaled to unit norm per sample (zero samples stay zero).
    private func normalized(_ x: Tensor) -> Tensor {
        let n = LyapunovEstimator.sampleNorms(x)
        return noGrad { x.detached() * LyapunovEstimator.perSample(n.map { $0 > 0 ? Float(1 / $0) : 0 }, rank: x.rank) }
    }

    /// ⟨aᵢ, bᵢ⟩ per sample, in Double.
    static func sampleDots(_ a: Tensor, _ b: Tensor) -> [Double] {
        let batch = a.shape.first ?? 1
        let per = a.count / Swift.max(batch, 1)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                (0..<batch).map { i in
                    var sum = 0.0
                    for j in (i * per)..<((i + 1) * per) { sum += Double(pa[j]) * Double(pb[j]) }
                    return sum
                }
            }
        }
    }
}

/// What ``LipschitzEstimator/estimate(_:at:parameters:)`` measures.
public struct LipschitzEstimate: Equatable, Sendable {
    /// L̂: the largest local spectral norm ‖∂f/∂h‖₂ found over points and samples (a lower bound
    /// of the global Lipschitz constant; see ``LipschitzEstimator``), per unit time.
    public let lipschitz: Double
    /// The mean local spectral norm over points and samples.
    public let meanLocal: Double
    /// μ̂: the largest local one-sided Lipschitz constant λ_max((J + Jᵀ)/2) found (a lower
    /// bound of the global one; at most ``lipschitz``); `nil` when not estimated.
    public let oneSided: Double?
    /// Local spectral norms, point-major: `[points · batch]`.
    public let localNorms: [Double]
    /// Points examined.
    public let points: Int
    /// Power iterations per point.
    public let iterations: Int

    /// A one-line description of the method, for reports.
    public static let method = "max over sampled trajectory states of the per-sample spectral norm of the drift Jacobian, "
        + "by power iteration on JᵀJ (forward-mode JVP + reverse-mode VJP); a lower bound of the global Lipschitz constant"

    /// Creates an estimate (normally made by ``LipschitzEstimator/estimate(_:at:parameters:)``).
    public init(lipschitz: Double, meanLocal: Double, oneSided: Double?, localNorms: [Double], points: Int, iterations: Int) {
        self.lipschitz = lipschitz
        self.meanLocal = meanLocal
        self.oneSided = oneSided
        self.localNorms = localNorms
        self.points = points
        self.iterations = iterations
    }
}

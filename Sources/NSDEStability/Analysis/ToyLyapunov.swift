import Foundation
import NSDECore
import NSDEPlot
import NSDETensor

/// The top Lyapunov exponent of the paper's Figure 1 SDE, dx = x dt + σ x dB (Itô), estimated
/// from sample paths.
///
/// λ = lim_{t→∞} (1/t) log|ε_t| for a perturbation ε_t of the solution. The SDE is linear, so a
/// perturbation obeys the same equation, dε = ε dt + σ ε dB (the paper's eq. 12 with the same
/// Brownian path), and Itô's formula gives log|ε_t/ε₀| = (1 − σ²/2)t + σB_t: the theory is
/// λ = 1 − σ²/2, negative (almost-sure exponential stability) exactly when σ > √2.
///
/// Each of ``paths`` independent paths gives λ̂ᵢ = (1/T) log|ε_T/ε₀| from ``steps`` steps of
/// Δt = T/steps; ``run()`` reports the mean over paths, its standard error and the theory. Two
/// ``Scheme``s take the step factor ε_{k+1}/ε_k:
///
/// | scheme | step factor | E λ̂ (per unit time) |
/// |---|---|---|
/// | ``Scheme/exact`` | exp((1 − σ²/2)Δt + σΔW_k), the exact solution's factor | 1 − σ²/2, no bias |
/// | ``Scheme/eulerMaruyama`` | 1 + Δt + σΔW_k | E log|1 + Δt + σ√Δt Z| / Δt ≈ 1 − σ²/2 + Δt(σ² − ½ − ¾σ⁴) |
///
/// Both accumulate in log space: Euler–Maruyama multiplies ``renormalizeEvery`` factors in
/// `Double`, adds the log of the product's magnitude and restarts from 1 (Benettin's
/// renormalisation), so neither under- nor overflows at any T; the exact scheme adds the log
/// factors directly. The finite-step bias of Euler–Maruyama is a property of the discrete map,
/// not of the sampling: its exact value is ``eulerMaruyamaExponent(drift:sigma:dt:)``, reported
/// as ``ToyLyapunovResult/discreteTheory``; the leading term −¾σ⁴Δt dominates at large σ (−0.039
/// at σ = 2.8, Δt = 10⁻³; −0.58 at Δt = 10⁻²). The sampling error is σ/√(paths·T) for both
/// schemes: the estimator averages paths·T units of Brownian time.
///
/// Brownian increments come from a ``BrownianGrid`` with key ``seed`` and spacing Δt, the same
/// grid as ``StabilityToy`` with the same seed, T and steps: the exact scheme's λ̂ then equals
/// that toy's ``StabilityToyResult/exactMeanLogAbs`` / T (same paths, up to rounding).
///
/// References: Liu et al. (2019), "Neural SDE", §3.3 and Figure 1; Benettin, Galgani, Giorgilli
/// & Strelcyn (1980), Meccanica 15; Mao (2007), "Stochastic Differential Equations and
/// Applications", §4.3.
public struct ToyLyapunov: Equatable, Sendable {
    /// How a step's growth factor is taken.
    public enum Scheme: String, CaseIterable, Sendable {
        /// The exact solution's factor exp((1 − σ²/2)Δt + σΔW): unbiased for every Δt.
        case exact
        /// Euler–Maruyama's factor 1 + Δt + σΔW: biased by O(Δt) (see the type's table).
        case eulerMaruyama = "euler-maruyama"
    }

    /// The diffusion scale σ ≥ 0 (dimensionless, per √time).
    public var sigma: Float
    /// The horizon T > 0, model time units.
    public var tEnd: Double
    /// Independent sample paths (at least 2, for a standard error).
    public var paths: Int
    /// Steps on [0, T] (at least 1); Δt = T / steps.
    public var steps: Int
    /// The Philox key of the Brownian paths.
    public var seed: UInt64
    /// The step factor (default ``Scheme/exact``).
    public var scheme: Scheme
    /// Euler–Maruyama only: steps multiplied in `Double` between two log-and-reset
    /// renormalisations (1...1000; default 10). The result does not depend on it beyond
    /// rounding; larger values take fewer logarithms.
    public var renormalizeEvery: Int

    /// The σ values of the default λ-versus-σ sweep: 0, 0.25, …, 3.
    public static let sweepSigmas: [Float] = stride(from: 0, through: 3, by: 0.25).map { Float($0) }

    /// Creates a configuration (defaults: σ = 2.8, T = 20, 1000 paths, 10 000 steps, seed 0, the
    /// exact scheme). Checked by ``validate()``, which ``run()`` calls.
    public init(sigma: Float = 2.8, tEnd: Double = 20, paths: Int = 1000, steps: Int = 10_000, seed: UInt64 = 0,
                scheme: Scheme = .exact, renormalizeEvery: Int = 10) {
        self.sigma = sigma
        self.tEnd = tEnd
        self.paths = paths
        self.steps = steps
        self.seed = seed
        self.scheme = scheme
        self.renormalizeEvery = renormalizeEvery
    }

    /// The step Δt = T / steps, model time units.
    public var dt: Double { tEnd / Double(steps) }

    /// σ as a `Double`, read from its shortest decimal form (`2.8`, not 2.7999999523), so
    /// theory and simulation use the value the user wrote.
    public var sigmaValue: Double { Double(sigma.description) ?? Double(sigma) }

    /// The continuous-time exponent 1 − σ²/2 (Itô).
    public var theory: Double {
        let s = sigmaValue
        return 1 - s * s / 2
    }

    /// The exponent the chosen scheme converges to as paths·T → ∞ at this Δt: ``theory`` for
    /// ``Scheme/exact``, ``eulerMaruyamaExponent(drift:sigma:dt:)`` with drift 1 for
    /// ``Scheme/eulerMaruyama``.
    public var discreteTheory: Double {
        switch scheme {
        case .exact: return theory
        case .eulerMaruyama: return Self.eulerMaruyamaExponent(drift: 1, sigma: sigmaValue, dt: dt)
        }
    }

    /// Throws unless σ is finite and ≥ 0, T finite and > 0, paths ≥ 2, steps ≥ 1 and
    /// ``renormalizeEvery`` in 1...1000.
    ///
    /// - Throws: ``StabilityError/invalidParameter(name:value:expected:)`` naming the setting.
    public func validate() throws(StabilityError) {
        guard sigma.isFinite, sigma >= 0 else {
            throw .invalidParameter(name: "sigma", value: "\(sigma)", expected: "a finite value ≥ 0")
        }
        guard tEnd.isFinite, tEnd > 0 else {
            throw .invalidParameter(name: "t-end", value: "\(tEnd)", expected: "a finite value > 0")
        }
        guard paths >= 2 else { throw .invalidParameter(name: "paths", value: "\(paths)", expected: "at least 2") }
        guard steps >= 1 else { throw .invalidParameter(name: "steps", value: "\(steps)", expected: "at least 1") }
        guard (1...1000).contains(renormalizeEvery) else {
            throw .invalidParameter(name: "renormalize-every", value: "\(renormalizeEvery)", expected: "1...1000 steps")
        }
    }

    // MARK: - Estimation

    /// Estimates λ: the mean over paths of (1/T) log|ε_T/ε₀|, its standard error, the theory
    /// and the scheme's discrete-time exponent.
    ///
    /// - Returns: see ``ToyLyapunovResult``.
    /// - Throws: ``StabilityError`` for invalid settings.
    /// - Complexity: ``steps`` normal draws of ``paths`` values, and paths·steps multiply-adds.
    public func run() throws(StabilityError) -> ToyLyapunovResult {
        try validate()
        let p = paths, n = steps, h = dt, s = sigmaValue
        let grid = BrownianGrid(shape: [p], dt: h, seed: seed)
        var logGrowth = [Double](repeating: 0, count: p)
        switch scheme {
        case .exact:
            // log factor = (1 − σ²/2)Δt + σΔW: sum W_T, add the deterministic part once.
            var w = [Double](repeating: 0, count: p)
            for k in 0..<n {
                grid.stepIncrement(k).withUnsafeBufferPointer { dW in
                    for i in 0..<p { w[i] += Double(dW[i]) }
                }
            }
            for i in 0..<p { logGrowth[i] = theory * tEnd + s * w[i] }
        case .eulerMaruyama:
            var product = [Double](repeating: 1, count: p)
            for k in 0..<n {
                grid.stepIncrement(k).withUnsafeBufferPointer { dW in
                    for i in 0..<p { product[i] *= 1 + h + s * Double(dW[i]) }
                }
                if (k + 1) % renormalizeEvery == 0 || k + 1 == n {
                    for i in 0..<p {
                        logGrowth[i] += Foundation.log(Swift.abs(product[i]))
                        product[i] = 1
                    }
                }
            }
        }
        let stats = SampleStatistics(logGrowth.map { $0 / tEnd })
        return ToyLyapunovResult(configuration: self, lyapunov: stats.mean, standardError: stats.standardError,
                                 theory: theory, discreteTheory: discreteTheory)
    }

    // MARK: - The discrete map's exponent

    /// The exact top Lyapunov exponent of Euler–Maruyama's map for dx = a x dt + σ x dB with
    /// step Δt: E log|1 + aΔt + σ√Δt Z| / Δt, Z ~ N(0, 1), per unit time.
    ///
    /// For σ²Δt ≪ 1 it is a − σ²/2 + Δt(aσ² − a²/2 − ¾σ⁴) + O(Δt²) (expand log(1 + u) to fourth
    /// order and take Gaussian moments); at σ = 0 it is log|1 + aΔt| / Δt. Computed to about
    /// 10⁻¹⁰ absolute for any Δt, also where that expansion fails (σ²Δt ≳ 0.1): by the
    /// moment series of E log(1 + Z/c), c = |1 + aΔt|/(σ√Δt), when c ≥ 8, and otherwise by
    /// quadrature on geometrically spaced nodes either side of the logarithmic singularity at
    /// Z = −(1 + aΔt)/(σ√Δt). (Checked against independent quadrature to 10⁻¹⁰.)
    ///
    /// - Parameters:
    ///   - a: the drift rate (per unit time).
    ///   - sigma: σ ≥ 0 (per √time).
    ///   - dt: Δt > 0, model time units.
    /// - Returns: the exponent per unit time (−∞ when 1 + aΔt = 0 and σ = 0).
    public static func eulerMaruyamaExponent(drift a: Double, sigma: Double, dt: Double) -> Double {
        precondition(sigma >= 0 && dt > 0, "eulerMaruyamaExponent: needs σ ≥ 0 and Δt > 0")
        let m = 1 + a * dt, s = sigma * dt.squareRoot()
        guard s > 0 else { return Foundation.log(Swift.abs(m)) / dt }
        return expectedLogAbsNormal(mean: m, std: s) / dt
    }

    /// E log|m + s Z| for Z ~ N(0, 1), s > 0: log s + E log|c + Z| with c = |m|/s (Z is symmetric).
    ///
    /// For c ≥ 8, log c − Σⱼ (2j − 1)!!/(2j·c²ʲ) (the moment series of E log(1 + Z/c), asymptotic,
    /// cut at its smallest term: error about e^(−c²/2) < 10⁻¹³); otherwise quadrature.
    static func expectedLogAbsNormal(mean m: Double, std s: Double) -> Double {
        let c = Swift.abs(m) / s
        if c >= 8 {
            var sum = 0.0, term = 1.0, previous = Double.infinity
            for j in 1...400 {
                term *= Double(2 * j - 1) / (c * c)            // (2j − 1)!! / c^(2j)
                let t = term / Double(2 * j)
                if t >= previous || t < 1e-18 * Swift.abs(sum) { break }
                sum += t
                previous = t
            }
            return Foundation.log(s) + Foundation.log(c) - sum
        }
        // E log|c + Z| = ∫ log|u| φ(u − c) du over u > 0 and u < 0, each with nodes u = eˣ, x
        // uniform in [log 10⁻¹⁶, log(c + 40)]: the integrand x·u·φ(±u − c) is smooth in x, its
        // peak at least 1/8 wide, and it vanishes at both ends, so the trapezoid rule converges
        // fast (relative error about 10⁻¹⁰ with 20 000 nodes).
        func side(_ sign: Double) -> Double {
            let lo = Foundation.log(1e-16), hi = Foundation.log(c + 40)
            let nodes = 20_000
            let step = (hi - lo) / Double(nodes)
            var sum = 0.0
            for j in 0...nodes {
                let x = lo + Double(j) * step
                let u = Foundation.exp(x)
                let z = sign * u - c
                let f = x * u * Foundation.exp(-0.5 * z * z)
                sum += (j == 0 || j == nodes) ? f / 2 : f
            }
            return sum * step / (2 * Double.pi).squareRoot()
        }
        return Foundation.log(s) + side(1) + side(-1)
    }
}

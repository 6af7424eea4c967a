/// What ``ToyLyapunov/run()`` measures: the top Lyapunov exponent of dx = x dt + σ x dB
/// estimated from sample paths, with its standard error, the Itô theory and the exponent of the
/// discrete map that was simulated.
public struct ToyLyapunovResult: Equatable, Sendable {
    /// The configuration that produced the result (σ, T, paths, steps, seed, scheme).
    public let configuration: ToyLyapunov
    /// λ̂: the mean over paths of (1/T) log|ε_T/ε₀|, per unit time.
    public let lyapunov: Double
    /// The standard error of ``lyapunov`` (sample standard deviation / √paths); about
    /// σ/√(paths·T).
    public let standardError: Double
    /// The continuous-time exponent 1 − σ²/2.
    public let theory: Double
    /// The exponent of the simulated map at this Δt (``ToyLyapunov/discreteTheory``): what
    /// ``lyapunov`` converges to as paths·T → ∞.
    public let discreteTheory: Double

    /// The scheme's finite-step bias, ``discreteTheory`` − ``theory`` (0 for the exact scheme).
    public var bias: Double { discreteTheory - theory }

    /// Whether λ̂ < 0 (the perturbation decays: almost-sure exponential stability).
    public var isStable: Bool { lyapunov < 0 }

    /// A one-sentence account of ``bias`` for this configuration.
    public var biasNote: String {
        let c = configuration
        switch c.scheme {
        case .exact:
            return "exact log-normal step factor exp((1 - σ²/2)Δt + σΔW): no finite-step bias; only sampling error σ/√(paths·T)"
        case .eulerMaruyama:
            return "Euler–Maruyama step factor 1 + Δt + σΔW: E log|1 + Δt + σΔW|/Δt = 1 - σ²/2 + Δt(σ² - 1/2 - 3σ⁴/4) + O(Δt²), "
                + "so the discrete map's exponent differs from the continuous one by \(Self.format(bias)) at Δt = \(Self.format(c.dt)); "
                + "decrease Δt (more --steps) or use the exact scheme"
        }
    }

    /// Creates a result (normally made by ``ToyLyapunov/run()``).
    public init(configuration: ToyLyapunov, lyapunov: Double, standardError: Double, theory: Double, discreteTheory: Double) {
        self.configuration = configuration
        self.lyapunov = lyapunov
        self.standardError = standardError
        self.theory = theory
        self.discreteTheory = discreteTheory
    }

    static func format(_ x: Double) -> String {
        var s = "\(Float(x))"
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}

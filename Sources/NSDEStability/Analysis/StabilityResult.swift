/// One ``StabilityAnalysis/analyse(_:from:sigma:noise:)`` result: measured λ, empirical L and
/// the theory's bound, with verdicts.
public struct StabilityResult {
    /// σ (per √time).
    public let sigma: Double
    /// How the noise enters the perturbation equation.
    public let noise: PerturbationNoise
    /// The measured exponent.
    public let estimate: LyapunovEstimate
    /// The empirical Lipschitz constants; `nil` when not estimated.
    public let lipschitz: LipschitzEstimate?
    /// Theorem 3.2 / Corollary 3.2.1 with the empirical constants; `nil` without them.
    public let bound: StabilityBound?
    /// Wall-clock time of the analysis, seconds.
    public let seconds: Double

    /// Whether the measured λ̂ < 0: nearby solutions converge (measured stability).
    public var isStable: Bool { estimate.lyapunov < 0 }

    /// Whether λ̂ + 2 SE < 0: stable beyond two standard errors of the sampling (not of the
    /// O(Δt), O(1/T) biases).
    public var isStableBeyondTwoStandardErrors: Bool {
        estimate.standardError.isFinite ? estimate.lyapunov + 2 * estimate.standardError < 0 : isStable
    }

    /// Whether λ̂ − 2 SE ≤ the theorem's bound (with the empirical L): `false` signals that the
    /// empirical L underestimates the true one (or a discretisation effect); `nil` without a bound.
    public var isWithinBound: Bool? {
        guard let b = bound?.bound else { return nil }
        let se = estimate.standardError.isFinite ? estimate.standardError : 0
        return estimate.lyapunov - 2 * se <= b
    }

    /// Creates a result (normally made by ``StabilityAnalysis/analyse(_:from:sigma:noise:)``).
    public init(sigma: Double, noise: PerturbationNoise, estimate: LyapunovEstimate, lipschitz: LipschitzEstimate?,
                bound: StabilityBound?, seconds: Double) {
        self.sigma = sigma
        self.noise = noise
        self.estimate = estimate
        self.lipschitz = lipschitz
        self.bound = bound
        self.seconds = seconds
    }
}

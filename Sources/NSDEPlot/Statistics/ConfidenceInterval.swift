import Foundation

/// A two-sided confidence interval for a proportion, such as an accuracy.
///
/// ``wilson(successes:trials:z:)`` is the Wilson score interval (Wilson 1927):
///
/// p̃ = (p̂ + z²/2n) / (1 + z²/n),  half-width = z·√(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n),
///
/// with p̂ = successes / n. Unlike the normal approximation p̂ ± z·√(p̂(1 − p̂)/n) it stays inside
/// [0, 1] and keeps close to its nominal coverage for small n and for accuracies near 0 or 1
/// (Brown, Cai & DasGupta 2001). z = 1.959964 gives 95 %.
///
/// - Note: The interval describes sampling uncertainty over test images only: it treats the
///   n predictions as independent Bernoulli trials with a fixed model. It does not cover the
///   variation between training runs (seeds) or, for test-time noise, between noise draws.
public struct ConfidenceInterval: Codable, Equatable, Sendable {
    /// The lower bound, in [0, 1].
    public let lower: Double
    /// The upper bound, in [0, 1].
    public let upper: Double
    /// The nominal coverage, e.g. 0.95.
    public let level: Double

    /// z for a two-sided 95 % interval: Φ⁻¹(0.975).
    public static let z95 = 1.959963984540054

    /// Creates an interval from its bounds.
    public init(lower: Double, upper: Double, level: Double) {
        self.lower = lower
        self.upper = upper
        self.level = level
    }

    /// The Wilson score interval for `successes` out of `trials` (see the type's documentation).
    ///
    /// - Parameters:
    ///   - successes: correct predictions, in `0...trials`.
    ///   - trials: predictions n ≥ 0; with n = 0 the interval is the whole [0, 1].
    ///   - z: the normal quantile (default ``z95``); `level` is 2Φ(z) − 1.
    public static func wilson(successes: Int, trials: Int, z: Double = z95) -> ConfidenceInterval {
        precondition(trials >= 0 && successes >= 0 && successes <= trials,
                     "ConfidenceInterval.wilson: need 0 <= successes (\(successes)) <= trials (\(trials))")
        let level = erf(z / 2.0.squareRoot())
        guard trials > 0 else { return ConfidenceInterval(lower: 0, upper: 1, level: level) }
        let n = Double(trials), p = Double(successes) / n, z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        return ConfidenceInterval(lower: max(0, centre - half), upper: min(1, centre + half), level: level)
    }

    enum CodingKeys: String, CodingKey { case lower, upper, level }
}

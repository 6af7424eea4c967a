/// Mean, variance and standard error of a sample of independent draws, in Double.
///
/// x̄ = (1/n) Σ xᵢ, s² = Σ (xᵢ − x̄)² / (n − 1) (unbiased), SE = √(s²/n). Used for Monte Carlo
/// estimates such as E log|x_T| in the Figure 1 toy and accuracies over repeated runs.
public struct SampleStatistics: Equatable, Sendable {
    /// The number of draws n.
    public let count: Int
    /// The sample mean x̄ (NaN when n = 0; ±∞ or NaN if a draw is).
    public let mean: Double
    /// The unbiased sample variance s² (0 when n = 1, NaN when n = 0).
    public let variance: Double

    /// The standard error of the mean, √(s²/n).
    public var standardError: Double { (variance / Double(count)).squareRoot() }

    /// Computes the statistics of `values` (two passes, for accuracy).
    public init(_ values: [Double]) {
        count = values.count
        let n = Double(values.count)
        let m = values.reduce(0, +) / n
        mean = m
        variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1) : (values.isEmpty ? .nan : 0)
    }
}

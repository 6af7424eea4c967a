/// The paired difference of two measurements taken on the same units (e.g. the accuracies of an
/// SDE and an ODE trained with the same seed: same initial weights, subset and data order):
/// dᵢ = aᵢ − bᵢ, with the mean, the standard deviation and the 95 % t interval of the mean.
public struct PairedDifference: Equatable, Sendable {
    /// The differences aᵢ − bᵢ, in the pairs' order.
    public let differences: [Double]
    /// Their statistics.
    public let statistics: SampleStatistics

    /// - Precondition: `a` and `b` have the same length.
    public init(_ a: [Double], minus b: [Double]) {
        precondition(a.count == b.count, "PairedDifference: \(a.count) vs \(b.count) values")
        differences = zip(a, b).map { $0 - $1 }
        statistics = SampleStatistics(differences)
    }

    /// The mean difference.
    public var mean: Double { statistics.mean }

    /// The 95 % t interval of the mean difference (`nil` for fewer than two pairs).
    public var interval95: (lower: Double, upper: Double)? { statistics.tInterval95 }

    /// What the interval says: `.better` when it lies above 0, `.worse` below 0, `.inconclusive`
    /// when it contains 0 or cannot be computed.
    public var verdict: Verdict {
        guard let ci = interval95 else { return .inconclusive }
        if ci.lower > 0 { return .better }
        if ci.upper < 0 { return .worse }
        return .inconclusive
    }

    /// The reading of a paired difference's interval.
    public enum Verdict: String, Sendable {
        /// The 95 % interval excludes 0 and lies above it.
        case better
        /// The 95 % interval excludes 0 and lies below it.
        case worse
        /// The interval contains 0, or there are fewer than two pairs.
        case inconclusive
    }

    /// The verdict in words for a report: `better`/`worse` when the interval excludes 0, else
    /// `inconclusive`, or `one seed` when there is no interval. With `lowerIsBetter` (a drop, a
    /// deviation) a difference below 0 is the better one.
    public func verdictWord(lowerIsBetter: Bool = false) -> String {
        guard interval95 != nil else { return "one seed" }
        switch verdict {
        case .better: return lowerIsBetter ? "worse" : "better"
        case .worse: return lowerIsBetter ? "better" : "worse"
        case .inconclusive: return "inconclusive"
        }
    }
}

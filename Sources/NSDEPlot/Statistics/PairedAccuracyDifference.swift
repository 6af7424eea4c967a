import Foundation

/// The difference of two classifiers' accuracies on the same test images, with the 95 % interval
/// that accounts for the pairing (the normal interval for the difference of two correlated
/// proportions): with b images that only A gets right and c that only B gets right out of n,
/// d = (b − c)/n and SE = √(b + c − (b − c)²/n) / n. It covers the test-image sampling of one
/// pair of trained models, not the variation between training runs.
public struct PairedAccuracyDifference: Equatable, Sendable {
    /// Test images.
    public let count: Int
    /// Images only the first classifier gets right.
    public let onlyFirst: Int
    /// Images only the second classifier gets right.
    public let onlySecond: Int

    /// - Precondition: the three arrays have the same length.
    public init(first: [Int], second: [Int], labels: [Int]) {
        precondition(first.count == labels.count && second.count == labels.count,
                     "PairedAccuracyDifference: \(first.count), \(second.count) predictions for \(labels.count) labels")
        count = labels.count
        var b = 0, c = 0
        for i in labels.indices {
            let a = first[i] == labels[i], s = second[i] == labels[i]
            if a && !s { b += 1 } else if s && !a { c += 1 }
        }
        onlyFirst = b
        onlySecond = c
    }

    /// The accuracy difference first − second (a fraction).
    public var difference: Double { count == 0 ? 0 : Double(onlyFirst - onlySecond) / Double(count) }

    /// The 95 % interval of ``difference``.
    public var interval95: (lower: Double, upper: Double) {
        guard count > 0 else { return (0, 0) }
        let n = Double(count), b = Double(onlyFirst), c = Double(onlySecond)
        let se = max(b + c - (b - c) * (b - c) / n, 0).squareRoot() / n
        let half = ConfidenceInterval.z95 * se
        return (difference - half, difference + half)
    }
}

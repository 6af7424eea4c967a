import Foundation

/// Counts of (true class, predicted class) pairs for a `classCount`-way classifier.
///
/// Rows are true classes, columns predicted classes: ``subscript(_:_:)`` `[truth, predicted]`.
/// The diagonal holds the correct predictions.
public struct ConfusionMatrix: Codable, Equatable, Sendable {
    /// Number of classes K.
    public let classCount: Int
    /// The counts, row-major `[truth, predicted]`, K² entries.
    public private(set) var counts: [Int]

    /// An all-zero K x K matrix.
    public init(classCount: Int) {
        precondition(classCount > 0, "ConfusionMatrix: need at least one class, got \(classCount)")
        self.classCount = classCount
        self.counts = Array(repeating: 0, count: classCount * classCount)
    }

    /// The number of examples of class `truth` predicted as `predicted`.
    public subscript(truth: Int, predicted: Int) -> Int { counts[truth * classCount + predicted] }

    /// Counts one prediction.
    public mutating func add(truth: Int, predicted: Int) {
        precondition((0..<classCount).contains(truth) && (0..<classCount).contains(predicted),
                     "ConfusionMatrix.add: class (\(truth), \(predicted)) outside 0..<\(classCount)")
        counts[truth * classCount + predicted] += 1
    }

    /// All counted examples.
    public var total: Int { counts.reduce(0, +) }

    /// Correct predictions (the trace).
    public var correct: Int { (0..<classCount).reduce(0) { $0 + self[$1, $1] } }

    /// Examples of each true class (row sums).
    public var support: [Int] { (0..<classCount).map { r in (0..<classCount).reduce(0) { $0 + self[r, $1] } } }

    /// Recall of each class, correct / support; `nil` for a class with no examples.
    public var perClassAccuracy: [Double?] {
        zip(0..<classCount, support).map { c, n in n > 0 ? Double(self[c, c]) / Double(n) : nil }
    }

    /// The matrix as CSV: a header `true\predicted,<name 0>,…`, then one row per true class
    /// starting with its name. Names are quoted when they hold a comma, quote or line break.
    ///
    /// - Parameter classNames: K names (default `"0"` … `"K-1"`).
    public func csv(classNames: [String]? = nil) -> String {
        let names = classNames ?? (0..<classCount).map(String.init)
        precondition(names.count == classCount, "ConfusionMatrix.csv: \(names.count) names for \(classCount) classes")
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = [(["true\\predicted"] + names).map(field).joined(separator: ",")]
        for r in 0..<classCount {
            lines.append(([field(names[r])] + (0..<classCount).map { String(self[r, $0]) }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    enum CodingKeys: String, CodingKey { case classCount = "class_count", counts }
}

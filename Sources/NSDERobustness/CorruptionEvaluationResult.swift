import NSDEPlot
import NSDETraining

/// Accuracy of one classifier on one test set without and with test-time noise (TTN): the part of
/// an ``EvaluationResult`` that the corruption benchmark (the paper's Table 2) reports.
public struct AccuracySummary: Codable, Equatable, Sendable {
    /// Test images evaluated.
    public let count: Int
    /// Accuracy at test σ = 0 ("w/o TTN"), a fraction in [0, 1].
    public let accuracy: Double
    /// Accuracy of the softmax averaged over K noisy passes, a fraction in [0, 1]; `nil` when K = 0.
    public let accuracyTTN: Double?
    /// Wilson 95 % interval of ``accuracy`` (binomial over the ``count`` images), fractions.
    public let ci95: ConfidenceInterval
    /// Wilson 95 % interval of ``accuracyTTN``; `nil` when K = 0.
    public let ci95TTN: ConfidenceInterval?

    /// A summary with the given values (fractions in [0, 1]).
    public init(count: Int, accuracy: Double, accuracyTTN: Double?, ci95: ConfidenceInterval, ci95TTN: ConfidenceInterval?) {
        self.count = count
        self.accuracy = accuracy
        self.accuracyTTN = accuracyTTN
        self.ci95 = ci95
        self.ci95TTN = ci95TTN
    }

    /// The accuracies and intervals of `result`.
    public init(_ result: EvaluationResult) {
        self.init(count: result.count, accuracy: result.accuracy, accuracyTTN: result.accuracyTTN,
                  ci95: result.plain.ci95, ci95TTN: result.ttn?.ci95)
    }

    enum CodingKeys: String, CodingKey {
        case count = "n", accuracy, accuracyTTN = "accuracy_ttn", ci95, ci95TTN = "ci95_ttn"
    }
}

/// An unweighted mean of accuracies over several corrupted test sets (fractions in [0, 1]).
public struct MeanAccuracy: Codable, Equatable, Sendable {
    /// Mean accuracy without TTN.
    public let accuracy: Double
    /// Mean accuracy with TTN; `nil` when any averaged set has none (K = 0).
    public let accuracyTTN: Double?

    /// A mean with the given values.
    public init(accuracy: Double, accuracyTTN: Double?) {
        self.accuracy = accuracy
        self.accuracyTTN = accuracyTTN
    }

    /// The mean of `summaries` (0 and `nil` for none).
    public init(of summaries: [AccuracySummary]) {
        let n = Double(max(summaries.count, 1))
        accuracy = summaries.reduce(0) { $0 + $1.accuracy } / n
        let ttn = summaries.compactMap(\.accuracyTTN)
        accuracyTTN = !summaries.isEmpty && ttn.count == summaries.count ? ttn.reduce(0, +) / n : nil
    }

    enum CodingKeys: String, CodingKey { case accuracy, accuracyTTN = "accuracy_ttn" }
}

/// The accuracies on one corruption at one severity.
public struct CorruptionCell: Codable, Equatable, Sendable {
    /// The CIFAR-10-C name of the corruption, e.g. `"gaussian_noise"`.
    public let corruption: String
    /// Severity 1 (mildest) ... 5.
    public let severity: Int
    /// Accuracy without and with TTN on that corrupted set.
    public let summary: AccuracySummary

    /// A cell.
    public init(corruption: String, severity: Int, summary: AccuracySummary) {
        self.corruption = corruption
        self.severity = severity
        self.summary = summary
    }

    /// Accuracy without TTN, a fraction.
    public var accuracy: Double { summary.accuracy }
    /// Accuracy with TTN, a fraction; `nil` when K = 0.
    public var accuracyTTN: Double? { summary.accuracyTTN }
}

/// What ``CorruptionEvaluation/run(_:clean:communicator:progress:)`` measures for one classifier: accuracy
/// without and with TTN on every requested (corruption, severity) test set, the clean accuracy
/// for reference, and the means the paper's Table 2 reports.
public struct CorruptionEvaluationResult: Codable, Equatable, Sendable {
    /// The corruptions evaluated, in order.
    public let corruptions: [String]
    /// The severities evaluated (each in 1...5), in order.
    public let severities: [Int]
    /// One cell per (corruption, severity), corruption-major: `cells[c * severities.count + s]`.
    public let cells: [CorruptionCell]
    /// Accuracy on the clean test set; `nil` when no clean set was given.
    public let clean: AccuracySummary?
    /// σ of the TTN passes.
    public let testSigma: Float
    /// K, noisy passes averaged per image (0: no TTN).
    public let ttnSamples: Int
    /// Whether the TTN passes drew noise (false for an ODE block or σ = 0: TTN then equals w/o TTN).
    public let ttnIsNoisy: Bool
    /// The seed of the corruptions' random draws (in-memory corruption) and the key of the TTN noise.
    public let seed: UInt64
    /// Images per forward pass.
    public let batchSize: Int
    /// The CIFAR-10-C directory read, or `nil` when the clean images were corrupted in memory.
    public let cifar10cDirectory: String?
    /// Wall-clock seconds for this classifier's evaluations (corrupting excluded).
    public let seconds: Double

    /// A result; `cells` must be corruption-major over `corruptions` × `severities` (precondition).
    public init(corruptions: [String], severities: [Int], cells: [CorruptionCell], clean: AccuracySummary?,
                testSigma: Float, ttnSamples: Int, ttnIsNoisy: Bool, seed: UInt64, batchSize: Int,
                cifar10cDirectory: String?, seconds: Double) {
        precondition(cells.count == corruptions.count * severities.count,
                     "CorruptionEvaluationResult: \(cells.count) cells for \(corruptions.count) corruptions x \(severities.count) severities")
        self.corruptions = corruptions
        self.severities = severities
        self.cells = cells
        self.clean = clean
        self.testSigma = testSigma
        self.ttnSamples = ttnSamples
        self.ttnIsNoisy = ttnIsNoisy
        self.seed = seed
        self.batchSize = batchSize
        self.cifar10cDirectory = cifar10cDirectory
        self.seconds = seconds
    }

    /// The cell of `corruption` at `severity`, if evaluated.
    public func cell(_ corruption: String, severity: Int) -> CorruptionCell? {
        guard let c = corruptions.firstIndex(of: corruption), let s = severities.firstIndex(of: severity) else { return nil }
        return cells[c * severities.count + s]
    }

    /// Per corruption, the mean over the severities, aligned with ``corruptions``.
    public var meanByCorruption: [MeanAccuracy] {
        corruptions.indices.map { c in
            MeanAccuracy(of: cells[c * severities.count ..< (c + 1) * severities.count].map(\.summary))
        }
    }

    /// Per severity, the mean over the corruptions (the paper's Table 2 columns), aligned with
    /// ``severities``.
    public var meanBySeverity: [MeanAccuracy] {
        severities.indices.map { s in
            MeanAccuracy(of: corruptions.indices.map { cells[$0 * severities.count + s].summary })
        }
    }

    /// The mean corruption accuracy over all cells.
    public var mean: MeanAccuracy { MeanAccuracy(of: cells.map(\.summary)) }

    enum CodingKeys: String, CodingKey {
        case corruptions, severities, cells, clean, testSigma = "test_sigma", ttnSamples = "ttn_samples"
        case ttnIsNoisy = "ttn_is_noisy", seed, batchSize = "batch_size", cifar10cDirectory = "cifar10c_directory", seconds
    }
}

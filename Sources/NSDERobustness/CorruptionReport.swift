import Foundation
import NSDEPlot

/// The corruption benchmark of one or more models, ready to publish: a Markdown table shaped like
/// the paper's Table 2 (``markdown()``), a long-format CSV (``csv()``), JSON (``json()``, also what
/// `nsde eval-corrupt --json` prints) and an SVG figure (``figure()``), written together by
/// ``write(to:)``.
///
/// Accuracies are fractions in [0, 1] in CSV and JSON and percentages in the table and the figure.
public struct CorruptionReport: Encodable, Sendable {
    /// One evaluated model.
    public struct Entry: Encodable, Sendable {
        /// The row label, e.g. `"ODE"` or `"dropout σ=0.5"` (unique within a report).
        public var label: String
        /// Where the model came from (a checkpoint directory), or `nil`.
        public var checkpoint: String?
        /// The SDE block's noise (`ode`, `additive`, `multiplicative`, `dropout`, `learned`).
        public var noise: String
        /// The σ the model was trained with.
        public var sigma: Float
        /// Its benchmark result.
        public var result: CorruptionEvaluationResult

        /// An entry.
        public init(label: String, checkpoint: String?, noise: String, sigma: Float, result: CorruptionEvaluationResult) {
            self.label = label
            self.checkpoint = checkpoint
            self.noise = noise
            self.sigma = sigma
            self.result = result
        }

        /// The row label of its TTN accuracies, e.g. `"dropout σ=0.5 + TTN (K=10)"`.
        public var ttnLabel: String { "\(label) + TTN (K=\(result.ttnSamples))" }

        /// Whether the report shows TTN separately: K > 0 and the passes drew noise (otherwise TTN
        /// equals w/o TTN, as the paper's "ODE+TTN: -").
        public var showsTTN: Bool { result.ttnIsNoisy && result.ttnSamples > 0 }

        /// Encodes the entry as one element of the report's `models` (keys in ``CorruptionReport/json()``).
        public func encode(to encoder: Encoder) throws {
            enum K: String, CodingKey {
                case label, checkpoint, noise, sigma, test_sigma, ttn, ttn_is_noisy, clean, mean
                case by_severity, by_corruption, results, seconds
            }
            enum R: String, CodingKey { case corruption, severity, accuracy, accuracy_ttn, n, ci95, ci95_ttn }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(label, forKey: .label); try c.encode(checkpoint, forKey: .checkpoint)
            try c.encode(noise, forKey: .noise); try c.encode(sigma, forKey: .sigma)
            try c.encode(result.testSigma, forKey: .test_sigma); try c.encode(result.ttnSamples, forKey: .ttn)
            try c.encode(result.ttnIsNoisy, forKey: .ttn_is_noisy)
            try c.encode(result.clean.map(Summary.init), forKey: .clean)
            try c.encode(result.mean, forKey: .mean)
            try c.encode(zip(result.severities, result.meanBySeverity).map { Labelled(key: "severity", value: "\($0)", mean: $1, number: true) },
                         forKey: .by_severity)
            try c.encode(zip(result.corruptions, result.meanByCorruption).map { Labelled(key: "corruption", value: $0, mean: $1, number: false) },
                         forKey: .by_corruption)
            var results = c.nestedUnkeyedContainer(forKey: .results)
            for cell in result.cells {
                var r = results.nestedContainer(keyedBy: R.self)
                try r.encode(cell.corruption, forKey: .corruption); try r.encode(cell.severity, forKey: .severity)
                try r.encode(cell.accuracy, forKey: .accuracy); try r.encode(cell.accuracyTTN, forKey: .accuracy_ttn)
                try r.encode(cell.summary.count, forKey: .n)
                try r.encode(Summary.interval(cell.summary.ci95), forKey: .ci95)
                try r.encode(cell.summary.ci95TTN.map(Summary.interval), forKey: .ci95_ttn)
            }
            try c.encode(result.seconds, forKey: .seconds)
        }
    }

    /// The data set's name, e.g. `"cifar10"`.
    public var dataset: String
    /// The models, one row each (two with TTN).
    public var entries: [Entry]

    /// A report.
    public init(dataset: String, entries: [Entry]) {
        self.dataset = dataset
        self.entries = entries
    }

    /// The file names ``write(to:)`` uses, in order: `corruption.md`, `.csv`, `.json`, `.svg`.
    public static let fileNames = ["corruption.md", "corruption.csv", "corruption.json", "corruption.svg"]

    /// Where the corrupted sets came from: `"in-memory"` or `"cifar10c"`.
    public var source: String { entries.first?.result.cifar10cDirectory == nil ? "in-memory" : "cifar10c" }

    // MARK: - CSV and JSON

    /// Long format, one row per (model, corruption, severity), header
    /// `model,corruption,severity,accuracy,accuracy_ttn,n`; accuracies are fractions with 6
    /// decimals, `accuracy_ttn` empty without TTN; model labels are quoted when they need it.
    public func csv() -> String {
        var lines = ["model,corruption,severity,accuracy,accuracy_ttn,n"]
        for entry in entries {
            for cell in entry.result.cells {
                let ttn = cell.accuracyTTN.map { String(format: "%.6f", $0) } ?? ""
                lines.append("\(csvField(entry.label)),\(cell.corruption),\(cell.severity),"
                             + String(format: "%.6f", cell.accuracy) + ",\(ttn),\(cell.summary.count)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report as one JSON object with sorted keys: `dataset`, `source`, `cifar10c_directory`,
    /// `corruptions`, `severities`, `seed`, `ttn`, `batch_size`, and `models`, each with `label`,
    /// `checkpoint`, `noise`, `sigma`, `test_sigma`, `ttn`, `ttn_is_noisy`, `clean`
    /// (`{accuracy, accuracy_ttn, n, ci95, ci95_ttn}` or null), `mean` (`{accuracy, accuracy_ttn}`),
    /// `by_severity`, `by_corruption`, `results` (`[{corruption, severity, accuracy, accuracy_ttn,
    /// n, ci95, ci95_ttn}]`) and `seconds`. Intervals are `[lower, upper]`.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Encodes the report as described in ``json()``.
    public func encode(to encoder: Encoder) throws {
        enum K: String, CodingKey { case dataset, source, cifar10c_directory, corruptions, severities, seed, ttn, batch_size, models }
        var c = encoder.container(keyedBy: K.self)
        let first = entries.first?.result
        try c.encode(dataset, forKey: .dataset); try c.encode(source, forKey: .source)
        try c.encode(first?.cifar10cDirectory, forKey: .cifar10c_directory)
        try c.encode(first?.corruptions ?? [], forKey: .corruptions); try c.encode(first?.severities ?? [], forKey: .severities)
        try c.encode(first?.seed, forKey: .seed); try c.encode(first?.ttnSamples, forKey: .ttn)
        try c.encode(first?.batchSize, forKey: .batch_size); try c.encode(entries, forKey: .models)
    }

    // MARK: - Files

    /// Writes ``markdown()``, ``csv()``, ``json()`` and ``figure()`` into `directory` (created if
    /// missing) as ``fileNames``, each atomically (``AtomicFile``).
    ///
    /// - Returns: the four files, in the order of ``fileNames``.
    /// - Throws: ``RobustnessError`` naming the path when a file cannot be written; the
    ///   directory's creation error.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let urls = Self.fileNames.map { directory.appendingPathComponent($0) }
        try AtomicFile.write(markdown(), to: urls[0])
        try AtomicFile.write(csv(), to: urls[1])
        try AtomicFile.write(json(), to: urls[2])
        try figure().write(to: urls[3])
        return urls
    }
}

// MARK: - JSON pieces

/// An ``AccuracySummary`` as `{accuracy, accuracy_ttn, n, ci95: [lower, upper], ci95_ttn}`.
private struct Summary: Encodable {
    let summary: AccuracySummary
    init(_ summary: AccuracySummary) { self.summary = summary }

    static func interval(_ ci: ConfidenceInterval) -> [Double] { [ci.lower, ci.upper] }

    func encode(to encoder: Encoder) throws {
        enum K: String, CodingKey { case accuracy, accuracy_ttn, n, ci95, ci95_ttn }
        var c = encoder.container(keyedBy: K.self)
        try c.encode(summary.accuracy, forKey: .accuracy); try c.encode(summary.accuracyTTN, forKey: .accuracy_ttn)
        try c.encode(summary.count, forKey: .n); try c.encode(Self.interval(summary.ci95), forKey: .ci95)
        try c.encode(summary.ci95TTN.map(Self.interval), forKey: .ci95_ttn)
    }
}

/// A ``MeanAccuracy`` with the severity or corruption it averages over: `{severity | corruption,
/// accuracy, accuracy_ttn}`.
private struct Labelled: Encodable {
    let key: String, value: String, mean: MeanAccuracy, number: Bool

    func encode(to encoder: Encoder) throws {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ s: String) { stringValue = s }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        var c = encoder.container(keyedBy: Key.self)
        if number, let n = Int(value) { try c.encode(n, forKey: Key(key)) } else { try c.encode(value, forKey: Key(key)) }
        try c.encode(mean.accuracy, forKey: Key("accuracy")); try c.encode(mean.accuracyTTN, forKey: Key("accuracy_ttn"))
    }
}

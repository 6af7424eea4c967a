import Foundation
import NSDEModels
import NSDEPlot

/// A search of σ per noise type on a validation split, as the paper did per noise type and data
/// set: every noise type is trained at every σ of a grid (and the ODE once), each with the same
/// seeds and budget, evaluated on the validation split held out of the training data — never on
/// the test set — and the σ with the best mean validation accuracy (w/o TTN) is chosen per noise
/// type (ties: the smaller σ).
///
/// ```swift
/// var search = SigmaSearchConfiguration(base: ComparisonPreset.overfit.configuration(dataset: .fashionMNIST),
///                                       noises: [.additive, .dropout], sigmas: [0.1, 0.3, 1])
/// let result = try runSigmaSearch(search, outputDirectory: URL(fileURLWithPath: "runs/sigma"))
/// print(result.chosen)   // [(additive, 0.3, …), (dropout, 0.1, …)]
/// ```
public struct SigmaSearchConfiguration: Sendable {
    /// The comparison that trains the grid (its ``NoiseComparisonConfiguration/models`` are the
    /// ODE and every noise × σ, its evaluation split the validation split).
    public private(set) var comparison: NoiseComparisonConfiguration
    /// The noise types searched, in report order.
    public let noises: [BlockNoise]
    /// The σ grid, ascending.
    public let sigmas: [Float]

    /// The paper-scale grid: 0.05 to 1, well below the CIFAR values (additive 0.7,
    /// multiplicative 1, dropout 0.5).
    public static let defaultSigmas: [Float] = [0.05, 0.1, 0.2, 0.5, 1]

    /// - Parameters:
    ///   - base: the budget, seeds and data (its models are replaced; it needs a validation split).
    ///   - noises: the noise types to search (not `ode`).
    ///   - sigmas: the grid (positive, finite; sorted and de-duplicated here).
    public init(base: NoiseComparisonConfiguration, noises: [BlockNoise] = [.additive, .multiplicative, .dropout],
                sigmas: [Float] = SigmaSearchConfiguration.defaultSigmas) {
        let grid = Array(Set(sigmas)).sorted()
        self.noises = noises
        self.sigmas = grid
        var c = base
        c.models = [NoiseSetting(noise: .ode, sigma: 0)]
            + noises.filter { $0 != .ode }.flatMap { noise in grid.filter { $0.isFinite && $0 >= 0 }.map { NoiseSetting(noise: noise, sigma: $0) } }
        c.evaluationSplit = .validation
        comparison = c
    }

    /// Throws unless the grid, the noise types and the comparison are valid.
    ///
    /// - Throws: ``ExperimentError/invalidParameter(name:value:expected:)``.
    public func validate() throws(ExperimentError) {
        guard !noises.isEmpty, !noises.contains(.ode), Set(noises).count == noises.count else {
            throw .invalidParameter(name: "noises", value: noises.map(\.rawValue).joined(separator: ","),
                                    expected: "distinct noise types other than ode")
        }
        guard !sigmas.isEmpty, sigmas.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .invalidParameter(name: "sigmas", value: sigmas.map { formatSigma($0) }.joined(separator: ","),
                                    expected: "finite values > 0")
        }
        try comparison.validate()
    }
}

/// The outcome of ``runSigmaSearch(_:dataDirectory:outputDirectory:progress:)``: validation
/// accuracy over the grid, the σ chosen per noise type, and reports (Markdown, CSV, JSON, SVG).
public struct SigmaSearchResult: Sendable {
    /// What was searched.
    public let configuration: SigmaSearchConfiguration
    /// The trained grid, evaluated on the validation split.
    public let comparison: NoiseComparisonResult

    /// One noise type's choice.
    public struct Choice: Sendable {
        /// The noise type.
        public let noise: BlockNoise
        /// The σ with the best mean validation accuracy (w/o TTN).
        public let sigma: Float
        /// Its validation accuracy over the seeds (fractions).
        public let validationAccuracy: SampleStatistics
    }

    /// The σ chosen per noise type, in ``SigmaSearchConfiguration/noises`` order.
    public var chosen: [Choice] {
        let summaries = comparison.summaries
        return configuration.noises.compactMap { noise in
            let candidates = summaries.filter { $0.setting.noise == noise }
            // Best mean validation accuracy; among equals the smaller σ (candidates are in σ order).
            guard let best = candidates.reduce(nil, { (best: NoiseComparisonSummary?, s) in
                guard let b = best else { return s }
                return s.accuracy.mean > b.accuracy.mean ? s : b
            }) else { return nil }
            return Choice(noise: noise, sigma: best.setting.sigma, validationAccuracy: best.accuracy)
        }
    }

    /// The chosen models as `--models` text for `nsde experiment table1`, e.g.
    /// `ode,additive:0.2,multiplicative:0.5,dropout:0.1`.
    public var chosenModels: String {
        (["ode"] + chosen.map { "\($0.noise.rawValue):\(formatSigma($0.sigma))" }).joined(separator: ",")
    }

    /// The ODE's validation accuracy over the seeds, or `nil`.
    public var odeValidationAccuracy: SampleStatistics? {
        comparison.summaries.first { $0.setting.noise == .ode }?.accuracy
    }

    /// A Markdown report: the grid (validation accuracy w/o and w/ TTN, mean ± sd over seeds,
    /// the paired difference to the ODE), the choice per noise type, and the budget.
    public func markdown() -> String {
        let c = comparison.configuration
        let summaries = comparison.summaries
        var lines = [
            "# σ search on \(comparison.dataset) (preset `\(c.preset)`)", "",
            "Validation accuracy (%) on \(c.training.validationSize ?? 0) training images held out of the training data "
                + "(never the test set); \(c.budgetDescription.replacingOccurrences(of: "evaluated on", with: "test set (not used here):")).", "",
            row(["Noise", "σ", "Seeds", "Validation w/o TTN", "Validation w/ TTN", "Train (σ = 0)", "Δ vs ODE w/o TTN [95 % CI]", "Chosen"]),
            row(Array(repeating: "---", count: 8)),
        ]
        let chosen = self.chosen
        for s in summaries {
            let isChosen = chosen.contains { $0.noise == s.setting.noise && $0.sigma == s.setting.sigma }
            lines.append(row([
                s.setting.noise.rawValue, s.setting.noise == .ode ? "–" : formatSigma(s.setting.sigma), "\(s.rows.count)",
                meanSD(s.accuracy), s.accuracyTTN.map(meanSD) ?? "–", s.trainAccuracy.map(meanSD) ?? "–",
                s.differenceToODE.map(differenceText) ?? "–", isChosen ? "**chosen**" : "",
            ]))
        }
        lines += ["", "Chosen σ (best mean validation accuracy w/o TTN; ties go to the smaller σ): "
                  + chosen.map { "\($0.noise.rawValue) \(formatSigma($0.sigma)) (\(meanSD($0.validationAccuracy)) %)" }.joined(separator: ", ")
                  + ". As `--models`: `\(chosenModels)`."]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Long-format CSV, one line per run: `noise,sigma,seed,val_accuracy,val_accuracy_ttn,train_accuracy,chosen`.
    public func csv() -> String {
        let chosen = self.chosen
        var lines = ["noise,sigma,seed,val_accuracy,val_accuracy_ttn,train_accuracy,chosen"]
        for r in comparison.rows {
            let isChosen = chosen.contains { $0.noise == r.setting.noise && $0.sigma == r.setting.sigma }
            lines.append([r.setting.noise.rawValue, formatSigma(r.setting.sigma), "\(r.seed)",
                          String(format: "%.6f", r.evaluation.accuracy), r.evaluation.accuracyTTN.map { String(format: "%.6f", $0) } ?? "",
                          r.trainEvaluation.map { String(format: "%.6f", $0.accuracy) } ?? "", isChosen ? "1" : "0"].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Validation accuracy against σ (log scale), one line per noise type (mean over seeds, w/o
    /// TTN solid and w/ TTN dashed), the ODE as a horizontal line.
    public func plot() -> LinePlot {
        let summaries = comparison.summaries
        var series: [Series] = []
        for (i, noise) in configuration.noises.enumerated() {
            let grid = summaries.filter { $0.setting.noise == noise }
            series.append(Series(name: "\(noise.rawValue) w/o TTN", points: grid.map { (Double($0.setting.sigma), 100 * $0.accuracy.mean) },
                                 color: .palette(i + 1), strokeWidth: 2, marker: .circle))
            let ttn = grid.compactMap { s in s.accuracyTTN.map { (x: Double(s.setting.sigma), y: 100 * $0.mean) } }
            if !ttn.isEmpty {
                series.append(Series(name: "\(noise.rawValue) w/ TTN", points: ttn, color: .palette(i + 1), strokeWidth: 1.5,
                                     dashed: true, marker: .circle))
            }
        }
        if let ode = odeValidationAccuracy, let low = configuration.sigmas.first, let high = configuration.sigmas.last {
            series.append(Series(name: "ODE", points: [(Double(low), 100 * ode.mean), (Double(high), 100 * ode.mean)],
                                 color: .palette(0), strokeWidth: 2, dashed: true))
        }
        let seeds = comparison.configuration.seeds.count
        return LinePlot(title: "Validation accuracy vs σ on \(comparison.dataset)\(seeds > 1 ? " (mean of \(seeds) seeds)" : "")",
                        xLabel: "σ", yLabel: "validation accuracy (%)", series: series, xScale: .log10)
    }

    /// The JSON report: `preset`, `dataset`, `budget`, `seeds`, `val_size`, `sigmas`, `grid`
    /// ([{`noise`, `sigma`, `val_accuracy_mean`, `val_accuracy_sd`, `val_accuracy_ttn_mean`,
    /// `train_accuracy_mean`, `diff_vs_ode_mean`, `diff_vs_ode_ci95`, `per_seed`}], percent), `chosen`
    /// ([{`noise`, `sigma`, `val_accuracy_mean`}]) and `models` (the `--models` text).
    public func jsonData(pretty: Bool = true) throws -> Data {
        struct Seed: Encodable { let seed: UInt64, val_accuracy: Double, val_accuracy_ttn: Double?, train_accuracy: Double? }
        struct Point: Encodable {
            let noise: String, sigma: Float, val_accuracy_mean: Double, val_accuracy_sd: Double, val_accuracy_ttn_mean: Double?
            let train_accuracy_mean: Double?, diff_vs_ode_mean: Double?, diff_vs_ode_ci95: [Double]?, per_seed: [Seed]
        }
        struct Pick: Encodable { let noise: String, sigma: Float, val_accuracy_mean: Double }
        struct Report: Encodable {
            let preset: String, dataset: String, budget: String, seeds: [UInt64], val_size: Int, sigmas: [Float]
            let grid: [Point], chosen: [Pick], models: String
        }
        let c = comparison.configuration
        let report = Report(
            preset: c.preset, dataset: comparison.dataset, budget: c.budgetDescription, seeds: c.seeds,
            val_size: c.training.validationSize ?? 0, sigmas: configuration.sigmas,
            grid: comparison.summaries.map { s in
                Point(noise: s.setting.noise.rawValue, sigma: s.setting.sigma, val_accuracy_mean: 100 * s.accuracy.mean,
                      val_accuracy_sd: 100 * s.accuracy.standardDeviation, val_accuracy_ttn_mean: s.accuracyTTN.map { 100 * $0.mean },
                      train_accuracy_mean: s.trainAccuracy.map { 100 * $0.mean }, diff_vs_ode_mean: s.differenceToODE.map { 100 * $0.mean },
                      diff_vs_ode_ci95: s.differenceToODE?.interval95.map { [100 * $0.lower, 100 * $0.upper] },
                      per_seed: s.rows.map { Seed(seed: $0.seed, val_accuracy: 100 * $0.evaluation.accuracy,
                                                  val_accuracy_ttn: $0.evaluation.accuracyTTN.map { 100 * $0 },
                                                  train_accuracy: $0.trainEvaluation.map { 100 * $0.accuracy }) })
            },
            chosen: chosen.map { Pick(noise: $0.noise.rawValue, sigma: $0.sigma, val_accuracy_mean: 100 * $0.validationAccuracy.mean) },
            models: chosenModels)
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(report)
    }

    /// Writes `sigma-search.md`, `.csv`, `.json` and `.svg` into `directory`, each atomically.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files: [(String, Data)] = [
            ("sigma-search.md", Data(markdown().utf8)), ("sigma-search.csv", Data(csv().utf8)),
            ("sigma-search.json", try jsonData()), ("sigma-search.svg", Data(plot().svgString().utf8)),
        ]
        return try files.map { name, data in
            let url = directory.appendingPathComponent(name)
            try AtomicFile.write(data, to: url)
            return url
        }
    }
}

/// Trains and evaluates the grid of `configuration` (resumable like
/// ``runNoiseComparison(_:dataDirectory:outputDirectory:shard:communicator:progress:)``: each run is a `nsde train`
/// directory under `outputDirectory`).
///
/// - Throws: the errors of ``runNoiseComparison(_:dataDirectory:outputDirectory:shard:communicator:progress:)``.
public func runSigmaSearch(_ configuration: SigmaSearchConfiguration, dataDirectory: String? = nil, outputDirectory: URL? = nil,
                           shard: ComparisonShard? = nil, progress: ((NoiseComparisonEvent) -> Void)? = nil) throws -> SigmaSearchResult {
    try configuration.validate()
    let comparison = try runNoiseComparison(configuration.comparison, dataDirectory: dataDirectory,
                                            outputDirectory: outputDirectory, shard: shard, progress: progress)
    return SigmaSearchResult(configuration: configuration, comparison: comparison)
}

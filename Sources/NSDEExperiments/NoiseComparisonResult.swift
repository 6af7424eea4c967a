import Foundation
import NSDEPlot
import NSDETraining

/// The outcome of ``runNoiseComparison(_:dataDirectory:outputDirectory:shard:communicator:progress:)`` and its
/// reports: a Markdown table shaped like the paper's Table 1, CSV, JSON and SVG training curves.
public struct NoiseComparisonResult: Sendable {
    /// What was run.
    public let configuration: NoiseComparisonConfiguration
    /// The dataset's registry name.
    public let dataset: String
    /// One row per model, in configuration order.
    public let rows: [NoiseComparisonRow]
    /// Wall-clock seconds of the whole comparison.
    public let seconds: Double
    /// The directory the runs were trained in (reports name runs relative to it), or `nil`.
    public let outputDirectory: URL?

    public init(configuration: NoiseComparisonConfiguration, dataset: String, rows: [NoiseComparisonRow], seconds: Double,
                outputDirectory: URL? = nil) {
        self.configuration = configuration
        self.dataset = dataset
        self.rows = rows
        self.seconds = seconds
        self.outputDirectory = outputDirectory
    }

    /// One summary per model (its runs over the seeds, paired with the ODE's), in model order.
    public var summaries: [NoiseComparisonSummary] {
        let ode = rows.filter { $0.setting.noise == .ode }
        return configuration.models.map { setting in
            NoiseComparisonSummary(setting: setting, rows: rows.filter { $0.setting == setting }, ode: ode.isEmpty ? nil : ode)
        }
    }

    /// The paper's Table 1 layout (accuracy without TTN for every model, then with TTN for every
    /// noisy model; mean ± sd over the seeds), a per-model table of the statistics over the seeds
    /// (train accuracy, generalisation gap, the paired difference to the ODE with its 95 % t
    /// interval and what it says), and a per-run table with Wilson intervals over test images.
    public func markdownTable() -> String {
        let summaries = self.summaries
        let noisy = summaries.filter { $0.setting.noise != .ode }
        let k = configuration.ttnSamples
        let seeds = configuration.seeds.count
        var header = ["Data", "Model size"] + summaries.map { "\($0.setting) w/o TTN" }
        if k > 0 { header += noisy.map { "\($0.setting) w/ TTN" } }
        var cells = [dataset, parameterSummary] + summaries.map { meanSD($0.accuracy) }
        if k > 0 { cells += noisy.map { $0.accuracyTTN.map(meanSD) ?? "–" } }
        let unit = seeds == 1 ? "" : " (mean ± sd over \(seeds) seeds)"
        var lines = [
            "Test accuracy (%)\(unit) on \(dataset), preset `\(configuration.preset)`: \(configuration.budgetDescription).", "",
            row(header), row(header.map { _ in "---" }), row(cells), "",
        ]
        lines += [
            row(["Model", "σ", "Seeds", "Test w/o TTN", "Test w/ TTN", "Train (σ = 0)", "Gap (train − test)", "Validation",
                 "Δ vs ODE w/o TTN [95 % CI]", "Δ vs ODE w/ TTN [95 % CI]", "Verdict"]),
            row(Array(repeating: "---", count: 11)),
        ]
        for s in summaries {
            lines.append(row([
                s.setting.noise.rawValue, formatSigma(s.setting.sigma), "\(s.rows.count)", meanSD(s.accuracy),
                s.accuracyTTN.map(meanSD) ?? "–", s.trainAccuracy.map(meanSD) ?? "–", s.generalizationGap.map(meanSD) ?? "–",
                s.validationAccuracy.map(meanSD) ?? "–", s.differenceToODE.map(differenceText) ?? "–",
                s.differenceToODEWithTTN.map(differenceText) ?? "–", verdictText(s),
            ]))
        }
        lines += [
            "",
            row(["Model", "σ", "Seed", "Parameters", "Test w/o TTN (95 % CI)", "Test w/ TTN, K = \(k) (95 % CI)", "Train (σ = 0)",
                 "Validation", "Best epoch test acc. (σ = 0)", "Train time"]),
            row(Array(repeating: "---", count: 10)),
        ]
        for r in rows {
            let plain = r.evaluation.plain
            let ttn = r.evaluation.ttn.map { "\(percent($0.accuracy)) (\(percent($0.ci95.lower))–\(percent($0.ci95.upper)))" } ?? "–"
            let best = r.history.compactMap(\.testAccuracy).max()
            lines.append(row([
                r.setting.noise.rawValue, formatSigma(r.setting.sigma), "\(r.seed)", "\(r.parameters)",
                "\(percent(plain.accuracy)) (\(percent(plain.ci95.lower))–\(percent(plain.ci95.upper)))", ttn,
                percent(r.trainEvaluation?.accuracy), percent(r.validation?.accuracy), percent(best), String(format: "%.0f s", r.trainSeconds),
            ]))
        }
        lines.append("")
        lines.append("n = \(rows.first?.evaluation.count ?? 0) test images. Mean ± sd over seeds; Δ vs ODE is the SDE's accuracy "
                     + "minus the ODE's trained with the same seed (same initial weights, training subset, validation split and data "
                     + "order), with the 95 % t interval of the mean difference over seeds; \"better\"/\"worse\" only when that interval "
                     + "excludes 0. Per-run intervals are Wilson 95 % intervals over test images (they do not cover run-to-run "
                     + "variation). w/o TTN: test σ = 0; w/ TTN: softmax averaged over K noisy passes at the training σ."
                     + (configuration.trainEvaluationSize > 0 ? " Train: clean accuracy on the first \(configuration.trainEvaluationSize) "
                        + "training images (σ = 0, no augmentation)." : ""))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Long-format CSV, one line per run: `dataset,noise,sigma,parameters,n,accuracy,ci95_low,
    /// ci95_high,accuracy_ttn,ci95_ttn_low,ci95_ttn_high,ttn_samples,epochs,train_seconds,run,seed,
    /// train_accuracy,val_accuracy,val_accuracy_ttn` (accuracies as fractions).
    public func csv() -> String {
        var lines = ["dataset,noise,sigma,parameters,n,accuracy,ci95_low,ci95_high,accuracy_ttn,ci95_ttn_low,ci95_ttn_high,ttn_samples,epochs,train_seconds,run,seed,train_accuracy,val_accuracy,val_accuracy_ttn"]
        for r in rows {
            let p = r.evaluation.plain, t = r.evaluation.ttn
            let fields: [String] = [
                dataset, r.setting.noise.rawValue, formatSigma(r.setting.sigma), "\(r.parameters)", "\(r.evaluation.count)",
                decimal(p.accuracy), decimal(p.ci95.lower), decimal(p.ci95.upper),
                decimal(t?.accuracy), decimal(t?.ci95.lower), decimal(t?.ci95.upper), "\(configuration.ttnSamples)",
                "\(r.history.count)", String(format: "%.1f", r.trainSeconds), r.runDirectory.map(relativeRunPath) ?? "",
                "\(r.seed)", decimal(r.trainEvaluation?.accuracy), decimal(r.validation?.accuracy), decimal(r.validation?.accuracyTTN),
            ]
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Training curves, one line per model (the mean over its seeds at each epoch where every seed
    /// has a value): training loss, test accuracy (σ = 0) and, with a validation split, validation
    /// accuracy.
    public func curves() -> PlotGrid {
        let summaries = self.summaries
        func plot(_ title: String, _ y: String, _ value: (EpochMetrics) -> Double?) -> LinePlot {
            let series = summaries.enumerated().map { i, s in
                let epochs = s.rows.map(\.history.count).min() ?? 0
                let points: [(x: Double, y: Double)] = (0..<epochs).compactMap { e in
                    let values = s.rows.compactMap { value($0.history[e]) }
                    guard values.count == s.rows.count, !values.isEmpty else { return nil }
                    return (x: Double(e + 1), y: values.reduce(0, +) / Double(values.count))
                }
                return Series(name: "\(s.setting)", points: points, color: .palette(i), strokeWidth: 2, marker: .circle)
            }
            return LinePlot(title: title, xLabel: "epoch", yLabel: y, series: series)
        }
        var panels = [
            plot("Training loss", "cross-entropy", { $0.trainLoss }),
            plot("Test accuracy (σ = 0)", "accuracy (%)", { $0.testAccuracy.map { 100 * $0 } }),
        ]
        if rows.contains(where: { $0.history.contains { $0.validationAccuracy != nil } }) {
            panels.append(plot("Validation accuracy (σ = 0)", "accuracy (%)", { $0.validationAccuracy.map { 100 * $0 } }))
        }
        let seeds = configuration.seeds.count
        return PlotGrid(title: "Training curves on \(dataset) (preset \(configuration.preset)\(seeds > 1 ? ", mean of \(seeds) seeds" : ""))",
                        panels: panels, columns: panels.count)
    }

    /// The run directory as written into reports: relative to the experiment's output directory
    /// when it lies inside it (so recorded reports carry no machine paths), else as it is.
    func relativeRunPath(_ url: URL) -> String {
        if let outputDirectory {
            let base = outputDirectory.standardizedFileURL.path + "/"
            let path = url.standardizedFileURL.path
            if path.hasPrefix(base) { return String(path.dropFirst(base.count)) }
        }
        return url.path
    }

    /// The JSON report (snake_case keys): `preset`, `dataset`, `budget`, `ttn_samples`, `seeds`
    /// (the run seeds), `seconds` and `models`, one per model with
    /// - `noise`, `sigma`, `parameters`, `n` (test images), `train_seconds` (summed over seeds);
    /// - as fractions: `accuracy` and `accuracy_ttn` (means over the seeds), `ci95` and `ci95_ttn`
    ///   (one seed: Wilson interval over test images; several: t interval over seeds);
    /// - in percent: `seeds` (their number), `accuracy_mean`, `accuracy_sd`, `accuracy_ttn_mean`,
    ///   `accuracy_ttn_sd`, `train_accuracy_mean`, `val_accuracy_mean`, `generalization_gap_mean`,
    ///   `diff_vs_ode_mean` and `diff_vs_ode_ci95` ([low, high], the paired t interval; `null` for
    ///   the ODE or one seed), `diff_vs_ode_ttn_mean`, `diff_vs_ode_ttn_ci95`, `verdict` (`better`,
    ///   `worse`, `inconclusive`, or `null` for the ODE), and `per_seed` ({`seed`, `accuracy`,
    ///   `accuracy_ttn`, `train_accuracy`, `val_accuracy`, `val_accuracy_ttn`, `diff_vs_ode`, `run`});
    /// - `run` and `history`: the first seed's run directory and `metrics.jsonl` lines.
    /// - Parameters:
    ///   - pretty: indented (for files) or on one line (for stdout).
    ///   - relativePaths: name run directories relative to the output directory (for files that
    ///     are kept with the results) instead of absolutely.
    public func jsonData(pretty: Bool = true, relativePaths: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Report(self, relativePaths: relativePaths))
    }

    /// Writes `table1.md`, `table1.csv`, `table1.json` and `curves.svg` (the given base names)
    /// into `directory`, each atomically. Returns the files written.
    @discardableResult
    public func write(to directory: URL, baseName: String = "table1") throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files: [(String, Data)] = [
            ("\(baseName).md", Data(markdownTable().utf8)), ("\(baseName).csv", Data(csv().utf8)),
            ("\(baseName).json", try jsonData(relativePaths: true)), ("curves.svg", Data(curves().svgString().utf8)),
        ]
        return try files.map { name, data in
            let url = directory.appendingPathComponent(name)
            try AtomicFile.write(data, to: url)
            return url
        }
    }

    private var parameterSummary: String {
        let counts = Set(rows.map(\.parameters)).sorted()
        return counts.map { $0 >= 1_000_000 ? String(format: "%.2f M", Double($0) / 1e6) : String(format: "%.1f K", Double($0) / 1e3) }
            .joined(separator: " / ")
    }

    private struct Report: Encodable {
        struct Seed: Encodable {
            let seed: UInt64, accuracy: Double, accuracy_ttn: Double?, train_accuracy: Double?, val_accuracy: Double?
            let val_accuracy_ttn: Double?, diff_vs_ode: Double?, run: String?

            func encode(to encoder: Encoder) throws {
                enum K: String, CodingKey { case seed, accuracy, accuracy_ttn, train_accuracy, val_accuracy, val_accuracy_ttn, diff_vs_ode, run }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(seed, forKey: .seed); try c.encode(accuracy, forKey: .accuracy)
                try c.encode(accuracy_ttn, forKey: .accuracy_ttn); try c.encode(train_accuracy, forKey: .train_accuracy)
                try c.encode(val_accuracy, forKey: .val_accuracy); try c.encode(val_accuracy_ttn, forKey: .val_accuracy_ttn)
                try c.encode(diff_vs_ode, forKey: .diff_vs_ode); try c.encode(run, forKey: .run)
            }
        }
        struct Model: Encodable {
            let noise: String, sigma: Float, parameters: Int, n: Int
            let accuracy: Double, ci95: [Double], accuracy_ttn: Double?, ci95_ttn: [Double]?
            let train_seconds: Double, run: String?, history: [EpochMetrics]
            let seeds: Int, accuracy_mean: Double, accuracy_sd: Double, accuracy_ttn_mean: Double?, accuracy_ttn_sd: Double?
            let train_accuracy_mean: Double?, val_accuracy_mean: Double?, generalization_gap_mean: Double?
            let diff_vs_ode_mean: Double?, diff_vs_ode_ci95: [Double]?, diff_vs_ode_ttn_mean: Double?, diff_vs_ode_ttn_ci95: [Double]?
            let verdict: String?, per_seed: [Seed]

            func encode(to encoder: Encoder) throws {
                // Every key is always present (null when there is no value).
                enum K: String, CodingKey {
                    case noise, sigma, parameters, n, accuracy, ci95, accuracy_ttn, ci95_ttn, train_seconds, run, history
                    case seeds, accuracy_mean, accuracy_sd, accuracy_ttn_mean, accuracy_ttn_sd, train_accuracy_mean, val_accuracy_mean
                    case generalization_gap_mean, diff_vs_ode_mean, diff_vs_ode_ci95, diff_vs_ode_ttn_mean, diff_vs_ode_ttn_ci95
                    case verdict, per_seed
                }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(noise, forKey: .noise); try c.encode(sigma, forKey: .sigma); try c.encode(parameters, forKey: .parameters)
                try c.encode(n, forKey: .n); try c.encode(accuracy, forKey: .accuracy); try c.encode(ci95, forKey: .ci95)
                try c.encode(accuracy_ttn, forKey: .accuracy_ttn); try c.encode(ci95_ttn, forKey: .ci95_ttn)
                try c.encode(train_seconds, forKey: .train_seconds); try c.encode(run, forKey: .run); try c.encode(history, forKey: .history)
                try c.encode(seeds, forKey: .seeds); try c.encode(accuracy_mean, forKey: .accuracy_mean)
                try c.encode(accuracy_sd, forKey: .accuracy_sd); try c.encode(accuracy_ttn_mean, forKey: .accuracy_ttn_mean)
                try c.encode(accuracy_ttn_sd, forKey: .accuracy_ttn_sd); try c.encode(train_accuracy_mean, forKey: .train_accuracy_mean)
                try c.encode(val_accuracy_mean, forKey: .val_accuracy_mean)
                try c.encode(generalization_gap_mean, forKey: .generalization_gap_mean)
                try c.encode(diff_vs_ode_mean, forKey: .diff_vs_ode_mean); try c.encode(diff_vs_ode_ci95, forKey: .diff_vs_ode_ci95)
                try c.encode(diff_vs_ode_ttn_mean, forKey: .diff_vs_ode_ttn_mean)
                try c.encode(diff_vs_ode_ttn_ci95, forKey: .diff_vs_ode_ttn_ci95)
                try c.encode(verdict, forKey: .verdict); try c.encode(per_seed, forKey: .per_seed)
            }
        }
        let preset: String, dataset: String, budget: String, ttn_samples: Int, seeds: [UInt64], seconds: Double, models: [Model]

        init(_ r: NoiseComparisonResult, relativePaths: Bool) {
            preset = r.configuration.preset
            dataset = r.dataset
            budget = r.configuration.budgetDescription
            ttn_samples = r.configuration.ttnSamples
            seeds = r.configuration.seeds
            seconds = r.seconds
            func path(_ url: URL?) -> String? { url.map { relativePaths ? r.relativeRunPath($0) : $0.path } }
            func pct(_ x: Double?) -> Double? { x.map { 100 * $0 } }
            func interval(_ ci: (lower: Double, upper: Double)?) -> [Double]? { ci.map { [100 * $0.lower, 100 * $0.upper] } }
            models = r.summaries.compactMap { s in
                guard let first = s.rows.first else { return nil }
                let one = s.rows.count == 1
                let p = first.evaluation.plain, t = first.evaluation.ttn
                let ci95 = one ? [p.ci95.lower, p.ci95.upper] : s.accuracy.tInterval95.map { [$0.lower, $0.upper] } ?? []
                let ci95TTN: [Double]? = one ? t.map { [$0.ci95.lower, $0.ci95.upper] } : s.accuracyTTN?.tInterval95.map { [$0.lower, $0.upper] }
                let ttnMean = s.rows.allSatisfy { $0.evaluation.accuracyTTN != nil }
                    ? s.rows.compactMap(\.evaluation.accuracyTTN).reduce(0, +) / Double(s.rows.count) : nil
                let differences = s.differenceToODE?.differences
                return Model(
                    noise: s.setting.noise.rawValue, sigma: s.setting.sigma, parameters: first.parameters, n: first.evaluation.count,
                    accuracy: s.accuracy.mean, ci95: ci95, accuracy_ttn: ttnMean, ci95_ttn: ci95TTN,
                    train_seconds: s.rows.reduce(0) { $0 + $1.trainSeconds }, run: path(first.runDirectory), history: first.history,
                    seeds: s.rows.count, accuracy_mean: 100 * s.accuracy.mean, accuracy_sd: 100 * s.accuracy.standardDeviation,
                    accuracy_ttn_mean: pct(s.accuracyTTN?.mean), accuracy_ttn_sd: pct(s.accuracyTTN?.standardDeviation),
                    train_accuracy_mean: pct(s.trainAccuracy?.mean), val_accuracy_mean: pct(s.validationAccuracy?.mean),
                    generalization_gap_mean: pct(s.generalizationGap?.mean),
                    diff_vs_ode_mean: pct(s.differenceToODE?.mean), diff_vs_ode_ci95: interval(s.differenceToODE?.interval95),
                    diff_vs_ode_ttn_mean: pct(s.differenceToODEWithTTN?.mean),
                    diff_vs_ode_ttn_ci95: interval(s.differenceToODEWithTTN?.interval95),
                    verdict: s.differenceToODE?.verdict.rawValue,
                    per_seed: s.rows.enumerated().map { i, row in
                        Seed(seed: row.seed, accuracy: 100 * row.evaluation.accuracy, accuracy_ttn: pct(row.evaluation.accuracyTTN),
                             train_accuracy: pct(row.trainEvaluation?.accuracy), val_accuracy: pct(row.validation?.accuracy),
                             val_accuracy_ttn: pct(row.validation?.accuracyTTN), diff_vs_ode: pct(differences?[i]),
                             run: path(row.runDirectory))
                    })
            }
        }

        func encode(to encoder: Encoder) throws {
            enum K: String, CodingKey { case preset, dataset, budget, ttn_samples, seeds, seconds, models }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(preset, forKey: .preset); try c.encode(dataset, forKey: .dataset); try c.encode(budget, forKey: .budget)
            try c.encode(ttn_samples, forKey: .ttn_samples); try c.encode(seeds, forKey: .seeds)
            try c.encode(seconds, forKey: .seconds); try c.encode(models, forKey: .models)
        }
    }
}

/// `x` as a percentage with two decimals, or `–`.
func percent(_ x: Double?) -> String { x.map { String(format: "%.2f", 100 * $0) } ?? "–" }
/// `x` with six decimals, or empty.
private func decimal(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
/// One Markdown table row.
func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
/// `mean ± sd` of fractions, in percent (`mean` alone for one value).
func meanSD(_ s: SampleStatistics) -> String {
    s.count == 1 ? String(format: "%.2f", 100 * s.mean) : String(format: "%.2f ± %.2f", 100 * s.mean, 100 * s.standardDeviation)
}
/// A paired difference in points with its 95 % interval, e.g. `+1.20 [−0.40, +2.80]`.
func differenceText(_ d: PairedDifference) -> String {
    let mean = String(format: "%+.2f", 100 * d.mean)
    guard let ci = d.interval95 else { return mean }
    return mean + String(format: " [%+.2f, %+.2f]", 100 * ci.lower, 100 * ci.upper)
}
/// The verdict column of a summary: the ODE's is "reference".
func verdictText(_ s: NoiseComparisonSummary) -> String {
    guard s.setting.noise != .ode else { return "reference" }
    guard let d = s.differenceToODE else { return "–" }
    let word = d.verdictWord()
    switch d.verdict {
    case .better, .worse: return "SDE " + word
    case .inconclusive: return word == "one seed" ? "one seed: no interval" : word
    }
}

import Foundation

/// The outcome of ``runNoiseComparison(_:dataDirectory:outputDirectory:progress:)`` and its
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

    public init(configuration: NoiseComparisonConfiguration, dataset: String, rows: [NoiseComparisonRow], seconds: Double) {
        self.configuration = configuration
        self.dataset = dataset
        self.rows = rows
        self.seconds = seconds
    }

    /// The paper's Table 1 layout: one line for the dataset, the model size, accuracy without TTN
    /// for every model, then with TTN for every noisy model (the ODE has none), followed by a
    /// per-model table with 95 % Wilson intervals, training time and the budget.
    public func markdownTable() -> String {
        let noisy = rows.filter { $0.setting.noise != .ode }
        let k = configuration.ttnSamples
        var header = ["Data", "Model size"] + rows.map { "\($0.setting) w/o TTN" }
        if k > 0 { header += noisy.map { "\($0.setting) w/ TTN" } }
        var cells = [dataset, parameterSummary] + rows.map { percent($0.evaluation.plain.accuracy) }
        if k > 0 { cells += noisy.map { percent($0.evaluation.ttn?.accuracy) } }
        var lines = [
            "Test accuracy (%) on \(dataset), preset `\(configuration.preset)`: \(configuration.budgetDescription).", "",
            row(header), row(header.map { _ in "---" }), row(cells), "",
            row(["Model", "σ", "Parameters", "Accuracy w/o TTN (95 % CI)", "Accuracy w/ TTN, K = \(k) (95 % CI)",
                 "Best epoch test acc. (σ = 0)", "Train time"]),
            row(Array(repeating: "---", count: 7)),
        ]
        for r in rows {
            let plain = r.evaluation.plain
            let ttn = r.evaluation.ttn.map { "\(percent($0.accuracy)) (\(percent($0.ci95.lower))–\(percent($0.ci95.upper)))" } ?? "–"
            let best = r.history.compactMap(\.testAccuracy).max()
            lines.append(row([
                "\(r.setting.noise.rawValue)", formatSigma(r.setting.sigma), "\(r.parameters)",
                "\(percent(plain.accuracy)) (\(percent(plain.ci95.lower))–\(percent(plain.ci95.upper)))", ttn,
                percent(best), String(format: "%.0f s", r.trainSeconds),
            ]))
        }
        lines.append("")
        lines.append("n = \(rows.first?.evaluation.count ?? 0) test images; intervals are Wilson 95 % intervals over test images "
                     + "(they do not cover run-to-run variation). w/o TTN: test σ = 0; w/ TTN: softmax averaged over K noisy passes "
                     + "at the training σ. The ODE draws no noise, so its TTN column would equal its plain one.")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Long-format CSV, one line per model: `dataset,noise,sigma,parameters,n,accuracy,ci95_low,
    /// ci95_high,accuracy_ttn,ci95_ttn_low,ci95_ttn_high,ttn_samples,epochs,train_seconds,run`.
    public func csv() -> String {
        var lines = ["dataset,noise,sigma,parameters,n,accuracy,ci95_low,ci95_high,accuracy_ttn,ci95_ttn_low,ci95_ttn_high,ttn_samples,epochs,train_seconds,run"]
        for r in rows {
            let p = r.evaluation.plain, t = r.evaluation.ttn
            let fields: [String] = [
                dataset, r.setting.noise.rawValue, formatSigma(r.setting.sigma), "\(r.parameters)", "\(r.evaluation.count)",
                decimal(p.accuracy), decimal(p.ci95.lower), decimal(p.ci95.upper),
                decimal(t?.accuracy), decimal(t?.ci95.lower), decimal(t?.ci95.upper), "\(configuration.ttnSamples)",
                "\(r.history.count)", String(format: "%.1f", r.trainSeconds), r.runDirectory?.path ?? "",
            ]
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Training curves: train loss and test accuracy (σ = 0) per epoch, one line per model.
    public func curves() -> PlotGrid {
        func plot(_ title: String, _ y: String, _ value: (EpochMetrics) -> Double?) -> LinePlot {
            let series = rows.enumerated().map { i, r in
                let points = r.history.compactMap { m in value(m).map { (x: Double(m.epoch), y: $0) } }
                return Series(name: "\(r.setting)", points: points, color: .palette(i), strokeWidth: 2, marker: .circle)
            }
            return LinePlot(title: title, xLabel: "epoch", yLabel: y, series: series)
        }
        return PlotGrid(title: "Training curves on \(dataset) (preset \(configuration.preset))", panels: [
            plot("Training loss", "cross-entropy", { $0.trainLoss }),
            plot("Test accuracy (σ = 0)", "accuracy (%)", { $0.testAccuracy.map { 100 * $0 } }),
        ], columns: 2)
    }

    /// The JSON report (snake_case keys): `preset`, `dataset`, `budget`, `ttn_samples`, `seconds`
    /// and `models`, each with `noise`, `sigma`, `parameters`, `n`, `accuracy`, `ci95`,
    /// `accuracy_ttn`, `ci95_ttn`, `train_seconds`, `run` and `history` (the `metrics.jsonl` lines).
    /// - Parameter pretty: indented (for files) or on one line (for stdout).
    public func jsonData(pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Report(self))
    }

    /// Writes `table1.md`, `table1.csv`, `table1.json` and `curves.svg` (the given base names)
    /// into `directory`, each atomically. Returns the files written.
    @discardableResult
    public func write(to directory: URL, baseName: String = "table1") throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files: [(String, Data)] = [
            ("\(baseName).md", Data(markdownTable().utf8)), ("\(baseName).csv", Data(csv().utf8)),
            ("\(baseName).json", try jsonData()), ("curves.svg", Data(curves().svgString().utf8)),
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
        struct Model: Encodable {
            let noise: String, sigma: Float, parameters: Int, n: Int
            let accuracy: Double, ci95: [Double], accuracy_ttn: Double?, ci95_ttn: [Double]?
            let train_seconds: Double, run: String?, history: [EpochMetrics]

            func encode(to encoder: Encoder) throws {
                // Every key is always present (null when there is no value).
                enum K: String, CodingKey { case noise, sigma, parameters, n, accuracy, ci95, accuracy_ttn, ci95_ttn, train_seconds, run, history }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(noise, forKey: .noise); try c.encode(sigma, forKey: .sigma); try c.encode(parameters, forKey: .parameters)
                try c.encode(n, forKey: .n); try c.encode(accuracy, forKey: .accuracy); try c.encode(ci95, forKey: .ci95)
                try c.encode(accuracy_ttn, forKey: .accuracy_ttn); try c.encode(ci95_ttn, forKey: .ci95_ttn)
                try c.encode(train_seconds, forKey: .train_seconds); try c.encode(run, forKey: .run); try c.encode(history, forKey: .history)
            }
        }
        let preset: String, dataset: String, budget: String, ttn_samples: Int, seconds: Double, models: [Model]

        init(_ r: NoiseComparisonResult) {
            preset = r.configuration.preset
            dataset = r.dataset
            budget = r.configuration.budgetDescription
            ttn_samples = r.configuration.ttnSamples
            seconds = r.seconds
            models = r.rows.map { row in
                let p = row.evaluation.plain, t = row.evaluation.ttn
                return Model(noise: row.setting.noise.rawValue, sigma: row.setting.sigma, parameters: row.parameters,
                             n: row.evaluation.count, accuracy: p.accuracy, ci95: [p.ci95.lower, p.ci95.upper],
                             accuracy_ttn: t?.accuracy, ci95_ttn: t.map { [$0.ci95.lower, $0.ci95.upper] },
                             train_seconds: row.trainSeconds, run: row.runDirectory?.path, history: row.history)
            }
        }

        func encode(to encoder: Encoder) throws {
            enum K: String, CodingKey { case preset, dataset, budget, ttn_samples, seconds, models }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(preset, forKey: .preset); try c.encode(dataset, forKey: .dataset); try c.encode(budget, forKey: .budget)
            try c.encode(ttn_samples, forKey: .ttn_samples); try c.encode(seconds, forKey: .seconds); try c.encode(models, forKey: .models)
        }
    }
}

/// `x` as a percentage with two decimals, or `–`.
func percent(_ x: Double?) -> String { x.map { String(format: "%.2f", 100 * $0) } ?? "–" }
/// `x` with six decimals, or empty.
private func decimal(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
/// One Markdown table row.
private func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

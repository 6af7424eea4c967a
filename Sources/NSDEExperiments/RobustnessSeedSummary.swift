import Foundation
import NSDEModels
import NSDEPlot
import NSDERobustness

/// The robustness of each model over its seeds, with every SDE's difference to the ODE paired by
/// seed (same initial weights, subset and data order) and its 95 % t interval: Table 2's mean
/// accuracy under corruption and its drop from clean accuracy, Figure 3's accuracy at every ε
/// (EOT attack, w/o TTN), and Figure 4's relative hidden-state deviation at t = 1.
///
/// Accuracies are fractions in [0, 1]; the Markdown shows percentages and points.
public struct RobustnessSeedSummary: Sendable {
    /// One model over the seeds.
    public struct Model: Sendable {
        /// Its legend name (e.g. `dropout σ=0.3`).
        public let name: String
        /// Its noise type (`ode`, `additive`, …).
        public let noise: String
        /// Seeds measured, in order.
        public let seeds: [UInt64]
        /// Clean accuracy on the corruption benchmark's images (w/o TTN).
        public let clean: SampleStatistics
        /// Mean accuracy over every corruption and severity (w/o TTN).
        public let corrupted: SampleStatistics
        /// The same with TTN, or `nil` when TTN draws no noise (the ODE) or is off.
        public let corruptedTTN: SampleStatistics?
        /// Mean accuracy at the highest severity (w/o TTN).
        public let worstSeverity: SampleStatistics
        /// Clean minus mean corrupted accuracy.
        public let drop: SampleStatistics
        /// Accuracy under the EOT attack (w/o TTN) at each ε of ``RobustnessSeedSummary/epsilons``.
        public let attack: [SampleStatistics]
        /// The same with TTN, or `nil` for a model without noise.
        public let attackTTN: [SampleStatistics]?
        /// r(t = 1) of Figure 4.
        public let perturbationAtEnd: SampleStatistics
        /// Mean corrupted accuracy minus the ODE's, paired by seed (`nil` for the ODE or unpaired).
        public let corruptedVsODE: PairedDifference?
        /// Drop minus the ODE's drop, paired by seed (negative: degrades less than the ODE).
        public let dropVsODE: PairedDifference?
        /// Attack accuracy minus the ODE's at each ε, paired by seed.
        public let attackVsODE: [PairedDifference]?
        /// r(1) minus the ODE's, paired by seed (negative: hidden states move less).
        public let perturbationVsODE: PairedDifference?
    }

    /// The attack radii, in order.
    public let epsilons: [Float]
    /// The models, in the experiment's order.
    public let models: [Model]

    /// Summarises the seeds' results. Models are matched across seeds by name; the reference is
    /// the first model whose noise is `ode`.
    ///
    /// - Precondition: every seed measured the same models and the same ε grid.
    public init(seeds: [RobustnessSeedResult]) {
        precondition(!seeds.isEmpty, "RobustnessSeedSummary: no seeds")
        let names = seeds[0].corruption.entries.map(\.label)
        let epsilons = seeds[0].attack.curves.first?.result.points.map(\.epsilon) ?? []
        for s in seeds {
            precondition(s.corruption.entries.map(\.label) == names && s.attack.curves.map(\.name) == names
                         && s.perturbation.curves.map(\.name) == names,
                         "RobustnessSeedSummary: seed \(s.seed) measured other models than seed \(seeds[0].seed)")
            precondition(s.attack.curves.allSatisfy { $0.result.points.map(\.epsilon) == epsilons },
                         "RobustnessSeedSummary: seed \(s.seed) attacked at other ε")
        }
        self.epsilons = epsilons
        struct PerSeed { var clean: [Double] = [], corrupted: [Double] = [], corruptedTTN: [Double?] = [], worst: [Double] = []
                         var attack: [[Double]] = [], attackTTN: [[Double?]] = [], end: [Double] = [] }
        var values = [PerSeed](repeating: PerSeed(), count: names.count)
        for s in seeds {
            for i in names.indices {
                let entry = s.corruption.entries[i], result = entry.result
                values[i].clean.append(result.clean?.accuracy ?? .nan)
                values[i].corrupted.append(result.mean.accuracy)
                values[i].corruptedTTN.append(entry.showsTTN ? result.mean.accuracyTTN : nil)
                values[i].worst.append(result.meanBySeverity.last?.accuracy ?? .nan)
                let points = s.attack.curves[i].result.points
                values[i].attack.append(points.map(\.accuracy))
                values[i].attackTTN.append(points.map(\.accuracyTTN))
                values[i].end.append(s.perturbation.curves[i].result.meanRelativeDistance.last ?? .nan)
            }
        }
        let reference = seeds[0].corruption.entries.firstIndex { $0.noise == BlockNoise.ode.rawValue }
        func column(_ rows: [[Double]], _ j: Int) -> [Double] { rows.map { $0[j] } }
        func complete(_ xs: [Double?]) -> [Double]? { xs.allSatisfy { $0 != nil } && !xs.isEmpty ? xs.map { $0! } : nil }
        models = names.indices.map { i in
            let v = values[i]
            let drop = zip(v.clean, v.corrupted).map { $0 - $1 }
            let isReference = i == reference
            let ref = reference.map { values[$0] }
            let attackTTN: [SampleStatistics]? = epsilons.indices.map { j in complete(v.attackTTN.map { $0[j] }) }
                .allSatisfy({ $0 != nil }) && seeds[0].corruption.entries[i].noise != BlockNoise.ode.rawValue
                ? epsilons.indices.map { j in SampleStatistics(v.attackTTN.map { $0[j]! }) } : nil
            return Model(
                name: names[i], noise: seeds[0].corruption.entries[i].noise, seeds: seeds.map(\.seed),
                clean: SampleStatistics(v.clean), corrupted: SampleStatistics(v.corrupted),
                corruptedTTN: complete(v.corruptedTTN).map(SampleStatistics.init),
                worstSeverity: SampleStatistics(v.worst), drop: SampleStatistics(drop),
                attack: epsilons.indices.map { SampleStatistics(column(v.attack, $0)) }, attackTTN: attackTTN,
                perturbationAtEnd: SampleStatistics(v.end),
                corruptedVsODE: isReference ? nil : ref.map { PairedDifference(v.corrupted, minus: $0.corrupted) },
                dropVsODE: isReference ? nil : ref.map { r in PairedDifference(drop, minus: zip(r.clean, r.corrupted).map { $0 - $1 }) },
                attackVsODE: isReference ? nil : ref.map { r in epsilons.indices.map { PairedDifference(column(v.attack, $0), minus: column(r.attack, $0)) } },
                perturbationVsODE: isReference ? nil : ref.map { PairedDifference(v.end, minus: $0.end) })
        }
    }

    /// The tables: corruptions (clean, mean corrupted w/o and w/ TTN, highest severity, drop, and
    /// the paired differences to the ODE), the attack by ε, and r(1).
    public func markdown() -> String {
        let n = models.first?.seeds.count ?? 0
        var lines = ["Over \(n) seed\(n == 1 ? "" : "s") (\(models.first?.seeds.map(String.init).joined(separator: ", ") ?? "")): mean ± sd; "
                     + "Δ = model − ODE paired by seed in points, with its 95 % t interval; \"better\"/\"worse\" only when the interval excludes 0.", ""]
        lines += ["| Model | Clean | Corrupted (mean) | w/ TTN | Highest severity | Drop (clean − corrupted) | Δ corrupted vs ODE | Δ drop vs ODE |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for m in models {
            lines.append(row([m.name, meanSD(m.clean), meanSD(m.corrupted), m.corruptedTTN.map(meanSD) ?? "–", meanSD(m.worstSeverity),
                              meanSD(m.drop), m.corruptedVsODE.map(verdictCell) ?? "reference",
                              m.dropVsODE.map { verdictCell($0, lowerIsBetter: true) } ?? "reference"]))
        }
        lines += ["", "Accuracy (%) under the EOT attack (w/o TTN; w/ TTN in brackets):", "",
                  "| Model | " + epsilons.map { "ε " + formatSigma($0) }.joined(separator: " | ") + " |",
                  "| --- |" + String(repeating: " --- |", count: epsilons.count)]
        for m in models {
            lines.append(row([m.name] + m.attack.indices.map { j in
                meanSD(m.attack[j]) + (m.attackTTN.map { " (" + meanSD($0[j]) + ")" } ?? "")
            }))
        }
        let compared = models.filter { $0.attackVsODE != nil }
        if !compared.isEmpty {
            lines += ["", "Δ attack accuracy vs ODE (points):", "",
                      "| Model | " + epsilons.map { "ε " + formatSigma($0) }.joined(separator: " | ") + " |",
                      "| --- |" + String(repeating: " --- |", count: epsilons.count)]
            for m in compared { lines.append(row([m.name] + m.attackVsODE!.map(verdictCell))) }
        }
        lines += ["", "| Model | r(1) of Figure 4 | Δ vs ODE (lower: moves less) |", "| --- | --- | --- |"]
        for m in models {
            lines.append(row([m.name, String(format: "%.4f ± %.4f", m.perturbationAtEnd.mean, m.perturbationAtEnd.standardDeviation),
                              m.perturbationVsODE.map { d in
                                  let ci = d.interval95.map { String(format: " [%+.4f, %+.4f]", $0.lower, $0.upper) } ?? ""
                                  return String(format: "%+.4f", d.mean) + ci + " " + d.verdictWord(lowerIsBetter: true)
                              } ?? "reference"]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One row per model, seed-aggregated: `model,noise,seeds,metric,eps,mean,sd,diff_vs_ode,ci_low,ci_high,verdict`
    /// (fractions; r(1) as a ratio). Metrics: `clean`, `corrupted`, `corrupted_ttn`,
    /// `highest_severity`, `drop`, `attack`, `attack_ttn`, `r_end`.
    public func csv() -> String {
        var out = "model,noise,seeds,metric,eps,mean,sd,diff_vs_ode,ci_low,ci_high,verdict\n"
        func line(_ m: Model, _ metric: String, _ eps: Float?, _ s: SampleStatistics, _ d: PairedDifference?, lowerIsBetter: Bool = false) {
            let ci = d?.interval95
            let fields: [String] = [
                csvField(m.name), m.noise, "\(s.count)", metric, eps.map { formatSigma($0) } ?? "",
                String(format: "%.6f", s.mean), String(format: "%.6f", s.standardDeviation),
                d.map { String(format: "%.6f", $0.mean) } ?? "", ci.map { String(format: "%.6f", $0.lower) } ?? "",
                ci.map { String(format: "%.6f", $0.upper) } ?? "", d.map { $0.verdictWord(lowerIsBetter: lowerIsBetter) } ?? "",
            ]
            out += fields.joined(separator: ",") + "\n"
        }
        for m in models {
            line(m, "clean", nil, m.clean, nil)
            line(m, "corrupted", nil, m.corrupted, m.corruptedVsODE)
            if let t = m.corruptedTTN { line(m, "corrupted_ttn", nil, t, nil) }
            line(m, "highest_severity", nil, m.worstSeverity, nil)
            line(m, "drop", nil, m.drop, m.dropVsODE, lowerIsBetter: true)
            for (j, eps) in epsilons.enumerated() {
                line(m, "attack", eps, m.attack[j], m.attackVsODE?[j])
                if let t = m.attackTTN { line(m, "attack_ttn", eps, t[j], nil) }
            }
            line(m, "r_end", nil, m.perturbationAtEnd, m.perturbationVsODE, lowerIsBetter: true)
        }
        return out
    }

    /// `{"epsilons": [...], "models": [{name, noise, seeds, clean, corrupted, corrupted_ttn,
    /// highest_severity, drop, attack: [{eps, mean, sd, diff_vs_ode, ci95}], r_end, ...}]}` with
    /// accuracies in percent, each statistic as {mean, sd} and each difference as {mean, ci95, verdict}.
    public func jsonReport() -> JSONReport { JSONReport(self) }

    /// The JSON form of a summary (see ``jsonReport()``).
    public struct JSONReport: Encodable, Sendable {
        struct Stat: Encodable, Sendable {
            let mean: Double, sd: Double
            init(_ s: SampleStatistics, scale: Double) { mean = scale * s.mean; sd = scale * s.standardDeviation }
        }
        struct Diff: Encodable, Sendable {
            let mean: Double, ci95: [Double]?, verdict: String
            init(_ d: PairedDifference, scale: Double, lowerIsBetter: Bool) {
                mean = scale * d.mean
                ci95 = d.interval95.map { [scale * $0.lower, scale * $0.upper] }
                verdict = d.verdictWord(lowerIsBetter: lowerIsBetter)
            }
        }
        struct AttackPoint: Encodable, Sendable { let eps: Float, accuracy: Stat, accuracy_ttn: Stat?, diff_vs_ode: Diff? }
        struct Model: Encodable, Sendable {
            let name: String, noise: String, seeds: [UInt64], clean: Stat, corrupted: Stat, corrupted_ttn: Stat?
            let highest_severity: Stat, drop: Stat, corrupted_diff_vs_ode: Diff?, drop_diff_vs_ode: Diff?
            let attack: [AttackPoint], r_end: Stat, r_end_diff_vs_ode: Diff?
        }
        let epsilons: [Float]
        let models: [Model]

        init(_ s: RobustnessSeedSummary) {
            epsilons = s.epsilons
            models = s.models.map { m in
                Model(name: m.name, noise: m.noise, seeds: m.seeds, clean: Stat(m.clean, scale: 100), corrupted: Stat(m.corrupted, scale: 100),
                      corrupted_ttn: m.corruptedTTN.map { Stat($0, scale: 100) }, highest_severity: Stat(m.worstSeverity, scale: 100),
                      drop: Stat(m.drop, scale: 100),
                      corrupted_diff_vs_ode: m.corruptedVsODE.map { Diff($0, scale: 100, lowerIsBetter: false) },
                      drop_diff_vs_ode: m.dropVsODE.map { Diff($0, scale: 100, lowerIsBetter: true) },
                      attack: s.epsilons.indices.map { j in
                          AttackPoint(eps: s.epsilons[j], accuracy: Stat(m.attack[j], scale: 100),
                                      accuracy_ttn: m.attackTTN.map { Stat($0[j], scale: 100) },
                                      diff_vs_ode: m.attackVsODE.map { Diff($0[j], scale: 100, lowerIsBetter: false) })
                      },
                      r_end: Stat(m.perturbationAtEnd, scale: 1),
                      r_end_diff_vs_ode: m.perturbationVsODE.map { Diff($0, scale: 1, lowerIsBetter: true) })
            }
        }
    }

    /// The mean over seeds of each model's Figure 3 curve (w/o and w/ TTN, with and without EOT),
    /// drawn like a single seed's figure.
    public func meanAttackFigure(_ seeds: [RobustnessSeedResult]) -> RobustAccuracyFigure {
        let first = seeds[0].attack
        return RobustAccuracyFigure(curves: first.curves.indices.map { i in
            let results = seeds.map { $0.attack.curves[i].result }
            func mean(_ values: [Double?]) -> Double? { values.allSatisfy { $0 != nil } ? values.map { $0! }.reduce(0, +) / Double(values.count) : nil }
            let points = results[0].points.indices.map { j in
                let p = results.map { $0.points[j] }
                return RobustAccuracyPoint(epsilon: p[0].epsilon, accuracy: mean(p.map(\.accuracy))!, accuracyTTN: mean(p.map(\.accuracyTTN)),
                                           accuracyNoEOT: mean(p.map(\.accuracyNoEOT)), accuracyTTNNoEOT: mean(p.map(\.accuracyTTNNoEOT)),
                                           meanNorm: mean(p.map(\.meanNorm))!, meanNormNoEOT: mean(p.map(\.meanNormNoEOT)))
            }
            let r = results[0]
            return .init(name: first.curves[i].name + " (mean of \(seeds.count) seeds)",
                         result: RobustAccuracyResult(norm: r.norm, method: r.method, steps: r.steps, eotSamples: r.eotSamples,
                                                      ttnSamples: r.ttnSamples, testSigma: r.testSigma, count: r.count, seed: r.seed,
                                                      points: points, seconds: results.reduce(0) { $0 + $1.seconds }))
        })
    }
}

/// A Markdown cell: the difference in points, its interval and its verdict.
private func verdictCell(_ d: PairedDifference) -> String { verdictCell(d, lowerIsBetter: false) }

private func verdictCell(_ d: PairedDifference, lowerIsBetter: Bool) -> String {
    differenceText(d) + " " + d.verdictWord(lowerIsBetter: lowerIsBetter)
}

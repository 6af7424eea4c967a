import Foundation

extension CorruptionReport {
    /// The report as Markdown, shaped like the paper's Table 2.
    ///
    /// First table: one row per model without TTN and, when TTN drew noise, one more row with TTN
    /// ("ODE", "Dropout", "Dropout+TTN" in the paper); columns Clean, Level 1 … Level 5 (the mean
    /// over corruptions at each severity) and Mean (over all cells). Second table: one row per
    /// corruption (mean over the severities) and a final mean row; one column per model row of the
    /// first table. Accuracies are percentages with 2 decimals; a missing value is `-`.
    public func markdown() -> String {
        guard let first = entries.first?.result else { return "# Corruption robustness\n\nNo models evaluated.\n" }
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", 100 * $0) } ?? "-" }
        func row(_ cells: [String]) -> String { "| " + cells.map(Self.markdownCell).joined(separator: " | ") + " |" }
        func rule(_ n: Int) -> String { "|---|" + String(repeating: "---:|", count: n) }

        // The model rows: w/o TTN, then TTN when it drew noise.
        var rows: [(label: String, entry: Entry, ttn: Bool)] = []
        for e in entries {
            rows.append((e.label, e, false))
            if e.showsTTN { rows.append((e.ttnLabel, e, true)) }
        }
        func pick(_ ttn: Bool, _ m: MeanAccuracy) -> Double? { ttn ? m.accuracyTTN : m.accuracy }

        let sourceText = first.cifar10cDirectory.map { "read from CIFAR-10-C at `\($0)`" }
            ?? "corrupted in memory with seed \(first.seed)"
        let images = first.cells.first?.summary.count ?? 0
        var lines = ["# Corruption robustness: \(dataset)", "",
                     "Test accuracy (%) under \(first.corruptions.count) corruption(s) at severities "
                     + first.severities.map(String.init).joined(separator: ", ")
                     + " (\(images) images per set, \(sourceText)). w/o TTN: test σ = 0; TTN: softmax averaged over "
                     + "K = \(first.ttnSamples) noisy passes. Compare with Liu et al. (2019), Table 2.", "",
                     "## Mean over corruptions (Table 2)", ""]
        lines.append(row(["Model", "Clean"] + first.severities.map { "Level \($0)" } + ["Mean"]))
        lines.append(rule(first.severities.count + 2))
        for r in rows {
            let clean = r.entry.result.clean.map { r.ttn ? $0.accuracyTTN : $0.accuracy } ?? nil
            lines.append(row([r.label, pct(clean)] + r.entry.result.meanBySeverity.map { pct(pick(r.ttn, $0)) }
                             + [pct(pick(r.ttn, r.entry.result.mean))]))
        }
        lines += ["", "## Mean over severities, per corruption", ""]
        lines.append(row(["Corruption"] + rows.map(\.label)))
        lines.append(rule(rows.count))
        for (c, name) in first.corruptions.enumerated() {
            lines.append(row([name] + rows.map { pct(pick($0.ttn, $0.entry.result.meanByCorruption[c])) }))
        }
        lines.append(row(["**mean**"] + rows.map { "**" + pct(pick($0.ttn, $0.entry.result.mean)) + "**" }))
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` safe inside a Markdown table cell: `|` escaped, line breaks replaced by spaces.
    static func markdownCell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

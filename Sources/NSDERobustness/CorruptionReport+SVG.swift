import NSDEPlot

extension CorruptionReport {
    /// The figure: accuracy (%) against severity, one colour per model, a solid line without TTN
    /// and a dashed one with TTN (when it drew noise, named "<label> + TTN"); severity 0 is the
    /// clean test set when it was scored.
    ///
    /// The first panel averages over the corruptions (the paper's Table 2 as a plot); with more
    /// than one corruption, one small panel per corruption follows (4 per row), without legends.
    public func figure() -> PlotGrid {
        guard let first = entries.first?.result else { return PlotGrid(title: "Corruption robustness", panels: []) }
        func series(_ corruption: Int?) -> [Series] {
            var out = [Series]()
            for (i, entry) in entries.enumerated() {
                let r = entry.result
                let n = r.severities.count
                let means = corruption.map { c in (0..<n).map { MeanAccuracy(of: [r.cells[c * n + $0].summary]) } } ?? r.meanBySeverity
                var x = r.severities.map(Double.init), plain = means.map(\.accuracy), ttn = means.map(\.accuracyTTN)
                if let clean = r.clean {
                    x.insert(0, at: 0)
                    plain.insert(clean.accuracy, at: 0)
                    ttn.insert(clean.accuracyTTN, at: 0)
                }
                out.append(Series(name: entry.label, x: x, y: plain.map { 100 * $0 }, color: .palette(i), marker: .circle))
                if entry.showsTTN {
                    out.append(Series(name: entry.label + " + TTN", x: x, y: ttn.map { 100 * ($0 ?? .nan) }, color: .palette(i),
                                      dashed: true, marker: .square))
                }
            }
            return out
        }
        let xLabel = first.clean == nil ? "severity" : "severity (0 = clean)"
        var panels = [LinePlot(title: "Mean over \(first.corruptions.count) corruption(s)", xLabel: xLabel,
                               yLabel: "accuracy (%)", series: series(nil))]
        if first.corruptions.count > 1 {
            for (c, name) in first.corruptions.enumerated() {
                panels.append(LinePlot(title: name, xLabel: xLabel, yLabel: "accuracy (%)", series: series(c), legend: .none))
            }
        }
        return PlotGrid(title: "Corruption robustness: \(dataset)", panels: panels, columns: min(panels.count, 4),
                        panelWidth: 440, panelHeight: 300)
    }
}

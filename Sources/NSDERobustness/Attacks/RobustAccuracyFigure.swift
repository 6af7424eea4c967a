import Foundation
import NSDEPlot

/// The paper's Figure 3 for several models: accuracy (%) against the attack radius ε, one solid
/// line per model (plain prediction, test σ = 0) and a dashed line of the same colour for its TTN
/// prediction; plus the same numbers as CSV.
public struct RobustAccuracyFigure: Sendable {
    /// One model's curve: its legend name and result.
    public typealias Curve = ModelCurve<RobustAccuracyResult>

    /// The models, in legend order.
    public var curves: [Curve]

    /// Creates the figure.
    public init(curves: [Curve]) { self.curves = curves }

    /// The plot: x = ε (pixel units), y = accuracy in % (0...100).
    public func plot() -> LinePlot {
        let norm = curves.first?.result.norm ?? .l2
        let normName = norm == .l2 ? "L2" : "L∞"
        var title = "Accuracy under \(normName) PGD"
        if let r = curves.first?.result {
            title += " (\(r.method), \(r.steps) steps, \(r.count) images)"
        }
        var plot = LinePlot(title: title, xLabel: "ε (\(normName) radius, pixel units)", yLabel: "accuracy (%)",
                            yRange: 0...100)
        for (i, curve) in curves.enumerated() {
            let eps = curve.result.points.map { Double($0.epsilon) }
            plot.series.append(Series(name: curve.name, x: eps, y: curve.result.points.map { 100 * $0.accuracy },
                                      color: .palette(i), strokeWidth: 2, marker: .circle))
            let ttn = curve.result.points.compactMap { p in p.accuracyTTN.map { (x: Double(p.epsilon), y: 100 * $0) } }
            if curve.result.ttnSamples > 0, ttn.count == eps.count, curve.result.testSigma > 0 {
                plot.series.append(Series(name: "\(curve.name) + TTN", points: ttn, color: .palette(i), strokeWidth: 2,
                                          dashed: true))
            }
        }
        return plot
    }

    /// The CSV header.
    public static let csvHeader = "model,eps,accuracy,accuracy_ttn,accuracy_no_eot,accuracy_ttn_no_eot,mean_norm,eot_samples,ttn_samples,test_sigma"

    /// One row per (model, ε): ``csvHeader``'s columns, accuracies in [0, 1], empty fields for
    /// missing values; model names are CSV-quoted when needed.
    public func csv() -> String {
        func field(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        var lines = [Self.csvHeader]
        for curve in curves {
            let r = curve.result
            for p in r.points {
                lines.append([csvField(curve.name), String(p.epsilon), String(p.accuracy), field(p.accuracyTTN), field(p.accuracyNoEOT),
                              field(p.accuracyTTNNoEOT), String(p.meanNorm), String(r.eotSamples), String(r.ttnSamples),
                              String(r.testSigma)].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes ``csv()`` to `csv` and ``plot()`` as SVG to `svg`, each atomically.
    ///
    /// - Throws: ``RobustnessError`` naming the path that could not be written.
    public func write(csv: URL, svg: URL) throws {
        try AtomicFile.write(self.csv(), to: csv)
        try plot().write(to: svg)
    }
}

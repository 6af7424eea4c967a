import Foundation
import NSDEPlot

/// The paper's Figure 4 for several models: the relative hidden-state distance r(t) against depth
/// t, one line per model; plus the same numbers as CSV.
public struct HiddenStatePerturbationFigure: Sendable {
    /// One model's curve: its legend name and result.
    public typealias Curve = ModelCurve<HiddenStatePerturbationResult>

    /// The models, in legend order.
    public var curves: [Curve]
    /// The attack radius, for the title (pixel units).
    public var epsilon: Float

    /// Creates the figure.
    public init(curves: [Curve], epsilon: Float) {
        self.curves = curves
        self.epsilon = epsilon
    }

    /// The plot: x = t (model time units), y = r(t) (dimensionless).
    public func plot() -> LinePlot {
        var plot = LinePlot(title: String(format: "Hidden-state perturbation under L2 PGD, ε = %g", Double(epsilon)),
                            xLabel: "t (model time units)", yLabel: "‖E hₜ(x_adv) − E hₜ(x)‖ / ‖E hₜ(x)‖")
        for (i, curve) in curves.enumerated() {
            plot.series.append(Series(name: curve.name, x: curve.result.times, y: curve.result.meanRelativeDistance,
                                      color: .palette(i), strokeWidth: 2))
        }
        return plot
    }

    /// The CSV header.
    public static let csvHeader = "model,t,relative_distance,relative_distance_std,images,draws"

    /// One row per (model, t); model names are CSV-quoted when needed.
    public func csv() -> String {
        var lines = [Self.csvHeader]
        for curve in curves {
            let r = curve.result
            for j in r.times.indices {
                lines.append([csvField(curve.name), String(r.times[j]), String(r.meanRelativeDistance[j]),
                              String(r.stdRelativeDistance[j]), String(r.images), String(r.draws)].joined(separator: ","))
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

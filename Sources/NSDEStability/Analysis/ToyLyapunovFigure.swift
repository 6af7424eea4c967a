import Foundation
import NSDEPlot

/// The top Lyapunov exponent of dx = x dt + σ x dB against σ: one ``ToyLyapunov`` estimate per
/// σ with ±2 standard-error bars, the Itô theory 1 − σ²/2, the simulated map's exponent (for
/// Euler–Maruyama) and the stability boundary λ = 0, crossed at σ = √2.
///
/// ```swift
/// let figure = ToyLyapunovFigure()                          // σ = 0, 0.25, …, 3
/// try figure.render(ToyLyapunov(tEnd: 20, paths: 1000, steps: 2000)).write(to: URL(fileURLWithPath: "lyapunov.svg"))
/// ```
///
/// References: Liu et al. (2019), "Neural SDE", §3.3 (Corollary 3.2.1 in one dimension with
/// L = 1: σ² > 2 gives stability) and Figure 1.
public struct ToyLyapunovFigure: Sendable {
    /// The σ values estimated (each finite and ≥ 0; at least one).
    public var sigmas: [Float]

    /// Creates the figure's settings (default σ = 0, 0.25, …, 3).
    public init(sigmas: [Float] = ToyLyapunov.sweepSigmas) {
        self.sigmas = sigmas
    }

    /// Runs `base` (its T, paths, steps, seed and scheme) once per σ in ``sigmas``; all σ share
    /// the same Brownian paths.
    ///
    /// - Throws: ``StabilityError`` for an empty or invalid σ list or invalid settings.
    public func sweep(_ base: ToyLyapunov) throws(StabilityError) -> [ToyLyapunovResult] {
        guard !sigmas.isEmpty else {
            throw .invalidParameter(name: "sigmas", value: "[]", expected: "at least one σ")
        }
        var results: [ToyLyapunovResult] = []
        for sigma in sigmas {
            var toy = base
            toy.sigma = sigma
            results.append(try toy.run())
        }
        return results
    }

    /// Draws `results` (from ``sweep(_:)``) as λ against σ.
    ///
    /// - Returns: one 720 × 450 px panel: estimates as circles with ±2 SE bars, the theory curve
    ///   (dashed), Euler–Maruyama's discrete exponent when that scheme was used (dashed, in
    ///   another colour), and λ = 0 (grey).
    public func plot(_ results: [ToyLyapunovResult]) -> LinePlot {
        let first = results.first?.configuration ?? ToyLyapunov()
        let title = String(format: "λ of dx = x dt + σx dB (Itô) — %@, Δt = %g, T = %g, %d paths",
                           first.scheme.rawValue, first.dt, first.tEnd, first.paths)
        var plot = LinePlot(title: title, xLabel: "σ (per √time)", yLabel: "λ (per unit time)")
        let lo = Double(results.map(\.configuration.sigma).min() ?? 0)
        let hi = Double(results.map(\.configuration.sigma).max() ?? 3)
        let span = Swift.max(hi - lo, 1e-3)
        let grid = (0...200).map { lo + span * Double($0) / 200 }
        plot.series.append(Series(name: "", x: [lo, lo + span], y: [0, 0], color: .gray, strokeWidth: 1, showsInLegend: false))
        plot.series.append(Series(name: "theory 1 − σ²/2", x: grid, y: grid.map { 1 - $0 * $0 / 2 },
                                  color: .palette(3), strokeWidth: 1.5, dashed: true))
        if first.scheme == .eulerMaruyama {
            let dt = first.dt
            plot.series.append(Series(name: String(format: "Euler–Maruyama map, Δt = %g", dt), x: grid,
                                      y: grid.map { ToyLyapunov.eulerMaruyamaExponent(drift: 1, sigma: $0, dt: dt) },
                                      color: .palette(1), strokeWidth: 1.5, dashed: true))
        }
        for (i, r) in results.enumerated() {
            let s = r.configuration.sigmaValue
            plot.series.append(Series(name: i == 0 ? "±2 standard errors" : "", x: [s, s],
                                      y: [r.lyapunov - 2 * r.standardError, r.lyapunov + 2 * r.standardError],
                                      color: .black, strokeWidth: 1.2, showsInLegend: i == 0))
        }
        plot.series.append(Series(name: "estimate (mean of (1/T) log|ε_T/ε₀|)", x: results.map(\.configuration.sigmaValue),
                                  y: results.map(\.lyapunov), color: .palette(0), strokeWidth: 0, marker: .circle, markerSize: 3.5))
        return plot
    }

    /// Sweeps and draws: ``plot(_:)`` of ``sweep(_:)``.
    ///
    /// - Throws: as ``sweep(_:)``.
    public func render(_ base: ToyLyapunov) throws(StabilityError) -> LinePlot {
        plot(try sweep(base))
    }
}

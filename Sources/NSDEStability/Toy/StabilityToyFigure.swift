import Foundation
import NSDEPlot

/// The paper's Figure 1: sample paths and the average over paths of dx = x dt + σ x dB (Itô,
/// x₀ = 1) against time, one panel per σ (default the paper's σ = 0 and σ = 2.8).
///
/// Each panel shows ``samplePaths`` individual Euler–Maruyama paths (thin, translucent) and the
/// mean over all paths (thick; the paper's "average over multiple runs ... to cancel out the
/// volatility during the early stage"). With σ = 0 every path is eᵗ; with σ = 2.8 the paths decay
/// to 0 after early swings. Plotting ``Quantity/logAbs`` instead shows log|x_t| with the Itô
/// theory (1 − σ²/2)t dashed, which makes the decay rate visible.
///
/// ```swift
/// let figure = StabilityToyFigure()                       // σ = 0 and 2.8, x_t
/// try figure.render(StabilityToy(tEnd: 5, paths: 1000, steps: 1000, seed: 0))
///           .write(to: URL(fileURLWithPath: "fig1.svg"))
/// ```
///
/// References: Liu et al. (2019), "Neural SDE", Figure 1.
public struct StabilityToyFigure: Sendable {
    /// What the y axis shows.
    public enum Quantity: String, CaseIterable, Sendable {
        /// x_t itself, as in the paper.
        case value = "x"
        /// log|x_t|, with the Itô theory (1 − σ²/2)t.
        case logAbs = "log-abs"
    }

    /// One panel per σ (each finite and ≥ 0), in order.
    public var sigmas: [Float]
    /// The plotted quantity (default ``Quantity/value``, as in the paper).
    public var quantity: Quantity
    /// Individual paths drawn per panel (default 8).
    public var samplePaths: Int
    /// Time intervals recorded per path (default 200; see
    /// ``StabilityToy/trajectories(outputPoints:samplePaths:)``).
    public var outputPoints: Int

    /// Creates the figure's settings.
    ///
    /// - Parameters:
    ///   - sigmas: σ per panel (default ``StabilityToy/paperSigmas``, 0 and 2.8).
    ///   - quantity: x_t or log|x_t| (default x_t).
    ///   - samplePaths: individual paths per panel (default 8).
    ///   - outputPoints: recorded time intervals (default 200).
    public init(sigmas: [Float] = StabilityToy.paperSigmas, quantity: Quantity = .value, samplePaths: Int = 8,
                outputPoints: Int = 200) {
        self.sigmas = sigmas
        self.quantity = quantity
        self.samplePaths = samplePaths
        self.outputPoints = outputPoints
    }

    /// Simulates one ``StabilityToyTrajectories`` per σ in ``sigmas``, each with `base`'s T, paths,
    /// steps and seed (so all panels share the same Brownian paths).
    ///
    /// - Throws: ``StabilityError`` for an empty σ list or invalid settings; ``SDEError`` from
    ///   the solver.
    public func simulate(_ base: StabilityToy) throws -> [StabilityToyTrajectories] {
        guard !sigmas.isEmpty else {
            throw StabilityError.invalidParameter(name: "sigmas", value: "[]", expected: "at least one σ")
        }
        return try sigmas.map { sigma in
            var toy = base
            toy.sigma = sigma
            return try toy.trajectories(outputPoints: outputPoints, samplePaths: min(samplePaths, base.paths))
        }
    }

    /// Draws `runs` as one panel each (see the type's description).
    ///
    /// - Parameter runs: trajectories, e.g. from ``simulate(_:)``.
    /// - Returns: a grid of up to three panels per row, 480 × 360 px each.
    public func plot(_ runs: [StabilityToyTrajectories]) -> PlotGrid {
        let panels = runs.enumerated().map { panel($0.element, color: .palette($0.offset)) }
        var title = "dx = x dt + σx dB (Itô), x₀ = 1"
        if let first = runs.first?.configuration {
            title += String(format: ": Euler–Maruyama, Δt = %g, %d paths, seed %llu", first.dt, first.paths, first.seed)
        }
        return PlotGrid(title: title, panels: panels)
    }

    /// Simulates and draws: ``plot(_:)`` of ``simulate(_:)``.
    ///
    /// - Throws: as ``simulate(_:)``.
    public func render(_ base: StabilityToy) throws -> PlotGrid {
        plot(try simulate(base))
    }

    /// One panel: sample paths in `color`, the mean over paths, and (for log|x_t|) the theory.
    func panel(_ run: StabilityToyTrajectories, color: PlotColor) -> LinePlot {
        let sigma = run.configuration.sigma
        let transform: (Double) -> Double = quantity == .value ? { $0 } : { Foundation.log(Swift.abs($0)) }
        var plot = LinePlot(title: String(format: "σ = %g", Double(sigma)) + (sigma == 0 ? " (ODE)" : ""),
                            xLabel: "t (model time units)", yLabel: quantity == .value ? "xₜ" : "log|xₜ|")
        for (i, path) in run.samplePaths.enumerated() {
            plot.series.append(Series(name: i == 0 ? "\(run.samplePaths.count) sample paths" : "", x: run.times,
                                      y: path.map(transform), color: color, strokeWidth: 1, opacity: 0.45,
                                      showsInLegend: i == 0))
        }
        let mean = quantity == .value ? run.meanValue : run.meanLogAbs
        plot.series.append(Series(name: "mean of \(run.configuration.paths) paths", x: run.times, y: mean,
                                  color: .black, strokeWidth: 2.2))
        if quantity == .logAbs {
            plot.series.append(Series(name: "theory (1 − σ²/2)t", x: run.times, y: run.theoryLogAbs,
                                      color: .palette(3), strokeWidth: 1.5, dashed: true))
        }
        return plot
    }
}

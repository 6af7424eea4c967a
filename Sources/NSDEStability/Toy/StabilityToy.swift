import Foundation
import NSDECore
import NSDEPlot
import NSDETensor

/// The paper's Figure 1 experiment: Euler–Maruyama on dx = x dt + σ x dB (Itô) from x₀ = 1,
/// compared with the exact solution on the same Brownian paths and with Itô theory.
///
/// ``run()`` estimates E log|x_T| over ``paths`` independent paths, the same mean for the exact
/// solution x_T = exp((1 − σ²/2)T + σW_T) built from the very Brownian increments the solver used,
/// and the theory (1 − σ²/2)T. ``trajectories(outputPoints:samplePaths:)`` records whole paths for
/// the figure. Brownian increments come from a ``BrownianGrid`` with spacing Δt = T/steps and
/// Philox key ``seed``, so a configuration always gives bit-identical results.
///
/// - Note: Euler–Maruyama's bias in E log|x_T| is about −(3/4)σ⁴·T·Δt (from E log|1 + Δt + σΔW|
///   per step): at σ = 2.8, T = 5 it is −1.15 with 1000 steps and −0.06 with 20 000. Increase
///   ``steps`` at large σ.
///
/// References: Liu et al. (2019), "Neural SDE", §3 and Figure 1.
public struct StabilityToy: Equatable, Sendable {
    /// The diffusion scale σ ≥ 0 (dimensionless, per √time); checked by ``validate()``.
    public var sigma: Float
    /// The end time T > 0, model time units.
    public var tEnd: Double
    /// The number of independent sample paths (at least 2, for a standard error).
    public var paths: Int
    /// Euler–Maruyama steps on [0, T] (at least 1); Δt = T / steps.
    public var steps: Int
    /// The Philox key of the Brownian paths.
    public var seed: UInt64

    /// The σ values of the paper's Figure 1: 0 (the ODE) and 2.8.
    public static let paperSigmas: [Float] = [0, 2.8]

    /// Creates a configuration (defaults: the paper's σ = 2.8, T = 5, 1000 paths, 1000 steps,
    /// seed 0). Checked by ``validate()``, which ``run()`` calls.
    public init(sigma: Float = 2.8, tEnd: Double = 5, paths: Int = 1000, steps: Int = 1000, seed: UInt64 = 0) {
        self.sigma = sigma
        self.tEnd = tEnd
        self.paths = paths
        self.steps = steps
        self.seed = seed
    }

    /// The step Δt = T / steps, model time units.
    public var dt: Double { tEnd / Double(steps) }

    /// Itô theory E log|x_t| = (1 − σ²/2)·t for x₀ = 1, with σ read as `Double(sigma)`.
    public func theory(at t: Double) -> Double {
        let s = Double(sigma)
        return (1 - s * s / 2) * t
    }

    /// Throws unless σ is finite and ≥ 0, T finite and > 0, paths ≥ 2 and steps ≥ 1.
    ///
    /// - Throws: ``StabilityError/invalidParameter(name:value:expected:)`` naming the setting.
    public func validate() throws(StabilityError) {
        guard sigma.isFinite, sigma >= 0 else {
            throw .invalidParameter(name: "sigma", value: "\(sigma)", expected: "a finite value ≥ 0")
        }
        guard tEnd.isFinite, tEnd > 0 else {
            throw .invalidParameter(name: "t-end", value: "\(tEnd)", expected: "a finite value > 0")
        }
        guard paths >= 2 else { throw .invalidParameter(name: "paths", value: "\(paths)", expected: "at least 2") }
        guard steps >= 1 else { throw .invalidParameter(name: "steps", value: "\(steps)", expected: "at least 1") }
    }

    /// Runs the experiment: E log|x_T| by Euler–Maruyama, the exact solution on the same paths,
    /// and the theory.
    ///
    /// - Returns: means and standard errors over ``paths``; see ``StabilityToyResult``.
    /// - Throws: ``StabilityError`` for invalid settings; ``SDEError`` from ``sdeint`` (for
    ///   example a non-finite state when x_t overflows float32).
    /// - Complexity: ``steps`` drift and diffusion evaluations on `[paths]` tensors, plus
    ///   ``steps`` Brownian draws again for the exact solution.
    public func run() throws -> StabilityToyResult {
        let simulation = try simulate(outputSteps: [0, steps])
        let logs = simulation.states[1].map { Foundation.log(Swift.abs(Double($0))) }
        let s = Double(sigma)
        let exactLogs = simulation.brownian[1].map { (1 - s * s / 2) * tEnd + s * Double($0) }   // log x_T, x₀ = 1
        let em = SampleStatistics(logs), exact = SampleStatistics(exactLogs)
        return StabilityToyResult(configuration: self, meanLogAbs: em.mean, standardError: em.standardError,
                                  exactMeanLogAbs: exact.mean, exactStandardError: exact.standardError,
                                  theory: theory(at: tEnd), driftEvaluations: simulation.driftEvaluations)
    }

    /// Records the paths over time for Figure 1: a few sample paths, the mean of x_t and of
    /// log|x_t| over all ``paths``, the exact solution's mean log|x_t| on the same Brownian paths,
    /// and the theory, at about `outputPoints` + 1 evenly spaced grid times from 0 to T.
    ///
    /// The solver takes the same steps as ``run()``, so the last point equals ``run()``'s means.
    ///
    /// - Parameters:
    ///   - outputPoints: how many intervals to record (at least 1; capped at ``steps``; default
    ///     200). Output times are every ⌈steps/outputPoints⌉ steps, plus T.
    ///   - samplePaths: how many individual paths to keep (0...``paths``; default 8), the first ones.
    /// - Returns: the time series, see ``StabilityToyTrajectories``.
    /// - Throws: ``StabilityError`` for invalid settings; ``SDEError`` from ``sdeint``.
    public func trajectories(outputPoints: Int = 200, samplePaths: Int = 8) throws -> StabilityToyTrajectories {
        try validate()
        guard outputPoints >= 1 else {
            throw StabilityError.invalidParameter(name: "output points", value: "\(outputPoints)", expected: "at least 1")
        }
        guard (0...paths).contains(samplePaths) else {
            throw StabilityError.invalidParameter(name: "sample paths", value: "\(samplePaths)", expected: "0...\(paths)")
        }
        let every = (steps + outputPoints - 1) / outputPoints
        let outputSteps = Array(stride(from: 0, to: steps, by: every)) + [steps]
        let simulation = try simulate(outputSteps: outputSteps)
        let s = Double(sigma)
        var meanValue: [Double] = [], meanLog: [Double] = [], exactMeanLog: [Double] = []
        for (i, t) in simulation.times.enumerated() {
            let x = simulation.states[i].map(Double.init)
            meanValue.append(SampleStatistics(x).mean)
            meanLog.append(SampleStatistics(x.map { Foundation.log(Swift.abs($0)) }).mean)
            exactMeanLog.append(SampleStatistics(simulation.brownian[i].map { (1 - s * s / 2) * t + s * Double($0) }).mean)
        }
        let samples = (0..<samplePaths).map { p in simulation.states.map { Double($0[p]) } }
        return StabilityToyTrajectories(configuration: self, times: simulation.times, samplePaths: samples,
                                        meanValue: meanValue, meanLogAbs: meanLog, exactMeanLogAbs: exactMeanLog,
                                        driftEvaluations: simulation.driftEvaluations)
    }

    // MARK: - Simulation

    /// Euler–Maruyama states and Brownian values W_t at the grid steps `outputSteps` (increasing,
    /// starting at 0, ending at ``steps``).
    struct Simulation {
        /// Output times, model time units.
        var times: [Double]
        /// x at each output time: `[times][paths]`.
        var states: [[Float]]
        /// W_t at each output time: `[times][paths]`.
        var brownian: [[Float]]
        /// Drift evaluations by the solver.
        var driftEvaluations: Int
    }

    /// Runs ``sdeint`` with Euler–Maruyama on the grid, recording `outputSteps`.
    func simulate(outputSteps: [Int]) throws -> Simulation {
        try validate()
        let dt = self.dt
        let times = outputSteps.map { $0 == steps ? tEnd : Double($0) * dt }
        let grid = BrownianGrid(shape: [paths], dt: dt, seed: seed)
        let solution = try noGrad {
            try sdeint(StabilityToySDE(sigma: sigma), y0: Tensor(repeating: 1, shape: [paths]), times: times,
                       solver: .eulerMaruyama, dt: dt, brownian: .custom(grid))
        }
        let flat = solution.states.scalars
        let states = (0..<times.count).map { Array(flat[($0 * paths)..<(($0 + 1) * paths)]) }
        var brownian: [[Float]] = [Array(repeating: 0, count: paths)]
        noGrad {
            var w = Tensor(repeating: 0, shape: [paths])
            for i in 1..<times.count {
                let increment = grid.increment(from: times[i - 1], to: times[i]).w
                w = i == 1 ? increment : w + increment
                brownian.append(w.scalars)
            }
        }
        return Simulation(times: times, states: states, brownian: brownian,
                          driftEvaluations: solution.stats.driftEvaluations)
    }
}

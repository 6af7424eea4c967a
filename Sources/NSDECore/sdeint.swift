import NSDETensor
import NSDENN

/// Where ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` takes its Brownian motion from.
public enum BrownianSource {
    /// A ``BrownianGrid`` starting at `times[0]` with spacing `dt` (fast; requires every output
    /// time to lie on that grid). Lévy area is generated when the solver needs it.
    case grid(seed: UInt64, stream: UInt64 = 0)
    /// A ``BrownianInterval`` over [times[0], times.last] (any times; slower per query). Lévy
    /// area is generated when the solver needs it.
    case interval(seed: UInt64, stream: UInt64 = 0)
    /// A Brownian motion built by the caller (shape must equal the SDE's Brownian shape).
    case custom(any BrownianMotion)
}

/// Solves an SDE from y₀ over a time grid, returning the states at `times`.
///
/// **Steps.** With the default ``ConstantStepSize``, steps of size `dt` run from `times[0]`; the
/// last step before each output time is shortened to land on it exactly. With a ``PIController``,
/// `dt` is the first attempted step and steps are accepted or rejected on the solver's embedded
/// error estimate (``Heun``, ``SRA1``) or on step doubling (every other solver); rejected steps are
/// retried on the same Brownian path, which therefore must be a ``BrownianSource/interval(seed:stream:)``
/// (or a custom motion that answers any query).
///
/// **Gradients.** `solution.states` is differentiable with respect to y₀ and the SDE's
/// parameters by the chosen ``GradientMethod``: backpropagation through every step (default),
/// the stochastic adjoint, reversible Heun's algebraic adjoint, checkpointing, or the paper's
/// forward sensitivity. All give the same forward values.
///
/// **Checks** (before the first step): `times` non-empty, finite and strictly increasing; `dt`
/// positive and finite; the controller's settings; the solver supports the SDE's noise and
/// calculus (with additive noise the calculi coincide and any solver's is accepted); the Brownian
/// motion provides the Lévy area if the solver needs it and can be queried at every step end;
/// the gradient method suits the solver. On the solve's first evaluations: the drift and the
/// diffusion product return the state's shape (a mismatch ends the solve after its first step).
/// After every step: the state is finite.
///
/// ```swift
/// let sde = NeuralDriftSDE(drift: mlp, diffusion: MultiplicativeDiffusion(sigma: 0.1))
/// let sol = try sdeint(sde, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.01,
///                      brownian: .grid(seed: 1), gradient: .adjoint)
/// sol.final.squared().mean().backward()      // gradients in mlp's parameters, O(1) memory
/// ```
///
/// - Parameters:
///   - sde: the SDE.
///   - y0: the initial state `[batch, …]` at `times[0]`.
///   - times: output times (model time units), strictly increasing.
///   - solver: the one-step method.
///   - dt: the step size, or the first step for adaptive control (model time units).
///   - stepSize: fixed steps (default) or a ``PIController``.
///   - brownian: the Brownian motion (default a grid with seed 0).
///   - gradient: how the solution is differentiated (default ``GradientMethod/backprop``).
/// - Returns: states `[T, batch, …]` at `times`, with drift/diffusion/accepted/rejected counts.
/// - Throws: ``SDEError`` for invalid grids or settings, unsupported combinations, shape
///   mismatches, non-finite states, step-size underflow and too many steps.
/// - Complexity: fixed steps: ⌈(t_end − t₀)/dt⌉ + (number of outputs) steps at most.
public func sdeint<S: SDE, Solver: SDESolver>(
    _ sde: S, y0: Tensor, times: [Double], solver: Solver, dt: Double,
    stepSize: any StepSizeController = ConstantStepSize(),
    brownian: BrownianSource = .grid(seed: 0),
    gradient: GradientMethod = .backprop
) throws -> Solution {
    try validateTimes(times)
    guard dt > 0, dt.isFinite else { throw SDEError.invalidStepSize(dt) }
    try stepSize.validate()
    try solver.checkSupport(of: sde)
    let algorithm = gradient.algorithm
    try algorithm.validate(solver, method: gradient)
    let bShape = sde.brownianShape(state: y0.shape)
    // The drift's and the diffusion product's shapes are checked on the solve's first
    // evaluations (no extra drift evaluation); a mismatch ends the solve after its first step.
    let shapeCheck = ShapeCheck()
    let checked = ShapeCheckedSDE(base: sde, check: shapeCheck)
    var motion: any BrownianMotion
    // Inside a BatchParallel shard, the shard's samples get the noise of the whole batch.
    let rows = BatchShard.current?.rows(forShape: bShape)
    switch brownian {
    case let .grid(seed, stream):
        if stepSize.isAdaptive { throw SDEError.adaptiveStepsNeedInterval }
        motion = BrownianGrid(shape: bShape, t0: times[0], dt: dt, seed: seed, stream: stream, levyArea: Solver.needsLevyArea,
                              rows: rows)
    case let .interval(seed, stream):
        motion = BrownianInterval(shape: bShape, t0: times[0], t1: max(times.last!, times[0] + dt), seed: seed, stream: stream,
                                  levyArea: Solver.needsLevyArea, rows: rows)
    case let .custom(m):
        guard m.shape == bShape else { throw SDEError.shapeMismatch(what: "The Brownian motion", expected: bShape, found: m.shape) }
        motion = m
    }
    if Solver.needsLevyArea && !motion.providesLevyArea { throw SDEError.levyAreaUnavailable(solver: Solver.name) }
    if !motion.canQuery(at: times[0]) { throw SDEError.brownianQueryUnavailable(time: times[0]) }
    // g ≡ 0: skip drawing increments (the solution does not depend on them).
    if !sde.hasNoise { motion = ZeroBrownianMotion(shape: bShape, levyArea: Solver.needsLevyArea) }
    if !stepSize.isAdaptive {
        for segment in stepSchedule(times: times, dt: dt) { for t in segment where !motion.canQuery(at: t) { throw SDEError.brownianQueryUnavailable(time: t) } }
    }

    let integrator = Integrator(sde: checked, solver: solver, motion: motion, controller: stepSize, dt: dt, times: times,
                                shapeCheck: shapeCheck)
    let backwardStats = BackwardStats()
    // The parameters do not change during the solve: layers reuse derived constants (a weight's
    // transpose) for all of its steps.
    let (states, stats) = try Parameter.withValuesFixed {
        try algorithm.solve(integrator, y0: y0, stats: backwardStats, name: "sdeint(\(gradient))")
    }
    return Solution(solved: states, times: times, stats: stats, backwardStats: backwardStats)
}

/// ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` with a solver chosen by ``SolverKind``.
public func sdeint<S: SDE>(
    _ sde: S, y0: Tensor, times: [Double], solver: SolverKind, dt: Double,
    stepSize: any StepSizeController = ConstantStepSize(),
    brownian: BrownianSource = .grid(seed: 0),
    gradient: GradientMethod = .backprop
) throws -> Solution {
    func open<Solver: SDESolver>(_ solver: Solver) throws -> Solution {
        try sdeint(sde, y0: y0, times: times, solver: solver, dt: dt, stepSize: stepSize, brownian: brownian, gradient: gradient)
    }
    return try open(solver.solver)
}

// MARK: - Helpers shared with odeint

/// Throws unless `times` is non-empty, finite and strictly increasing.
func validateTimes(_ times: [Double]) throws {
    guard !times.isEmpty else { throw SDEError.emptyTimes }
    for t in times where !t.isFinite { throw SDEError.invalidStepSize(t) }
    for i in 1..<max(times.count, 1) where !(times[i] > times[i - 1]) {
        throw SDEError.nonIncreasingTimes(index: i, previous: times[i - 1], next: times[i])
    }
}

/// Step ends for each output interval: steps of `dt` counted from `times[0]`, the last one
/// of each interval clipped to the output time. Ends within 10⁻⁹·dt of an output time merge with it.
func stepSchedule(times: [Double], dt: Double) -> [[Double]] {
    var result: [[Double]] = []
    let t0 = times[0]
    for i in 1..<max(times.count, 1) {
        var ends: [Double] = []
        var k = Int(((times[i - 1] - t0) / dt + 1e-9).rounded(.down)) + 1
        while true {
            let t = t0 + Double(k) * dt
            if t >= times[i] - 1e-9 * dt { break }
            ends.append(t)
            k += 1
        }
        ends.append(times[i])
        result.append(ends)
    }
    return result
}

/// Stacks states `[batch, …]` into `[T, batch, …]` (recorded on the tape).
func stackStates(_ states: [Tensor]) -> Tensor {
    let shape = states[0].shape
    return Tensor.concat(states.map { $0.reshaped([1] + shape) }, axis: 0)
}

import NSDETensor

/// Where ``sdeint(_:y0:times:solver:dt:brownian:)`` takes its Brownian motion from.
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

/// Solves an SDE from y₀ over a time grid with a fixed step, returning the states at `times`.
///
/// Steps of size `dt` run from `times[0]`; the last step before each output time is shortened
/// to land on it exactly. Every step's state is recorded on the autodiff tape, so
/// `solution.states` can be differentiated by backpropagation with respect to y₀ and any
/// parameters the SDE reads.
///
/// Before the first step it checks: `times` non-empty, finite and strictly increasing; `dt`
/// positive and finite; the solver supports the SDE's noise and calculus (with additive noise
/// the calculi coincide and any solver's is accepted); the Brownian motion provides the Lévy area
/// if the solver needs it and can be queried at every step end; one drift and one diffusion
/// evaluation return the right shapes (these two checks are not counted in the stats). After
/// every step it checks that the state is finite.
///
/// - Parameters:
///   - sde: the SDE.
///   - y0: the initial state `[batch, …]` at `times[0]`.
///   - times: output times (model time units), strictly increasing.
///   - solver: the one-step method.
///   - dt: the step size (model time units).
///   - brownian: the Brownian motion (default a grid with seed 0).
/// - Returns: states `[T, batch, …]` at `times`, and drift/diffusion/step counts.
/// - Throws: ``SDEError`` for invalid grids, unsupported combinations, shape mismatches and
///   non-finite states.
/// - Complexity: ⌈(t_end − t₀)/dt⌉ + (number of outputs) steps at most.
public func sdeint<S: SDE, Solver: SDESolver>(
    _ sde: S, y0: Tensor, times: [Double], solver: Solver, dt: Double,
    brownian: BrownianSource = .grid(seed: 0)
) throws -> Solution {
    try validateTimes(times)
    guard dt > 0, dt.isFinite else { throw SDEError.invalidStepSize(dt) }
    guard Solver.supportedNoise.contains(sde.noise) else {
        throw SDEError.unsupportedNoise(solver: Solver.name, noise: sde.noise,
                                        supported: NoiseType.allCases.filter { Solver.supportedNoise.contains($0) })
    }
    if sde.noise != .additive && solver.calculus != sde.calculus {
        throw SDEError.calculusMismatch(solver: Solver.name, solverCalculus: solver.calculus, sdeCalculus: sde.calculus)
    }
    let bShape = sde.brownianShape(state: y0.shape)
    try noGrad {
        let f = sde.drift(times[0], y0)
        guard f.shape == y0.shape else { throw SDEError.shapeMismatch(what: "The drift f(t, y)", expected: y0.shape, found: f.shape) }
        let gdW = sde.diffusionProduct(times[0], y0, Tensor(repeating: 0, shape: bShape), drift: f)
        guard gdW.shape == y0.shape else {
            throw SDEError.shapeMismatch(what: "The diffusion product g(t, y)·ΔW", expected: y0.shape, found: gdW.shape)
        }
    }
    let motion: any BrownianMotion
    switch brownian {
    case let .grid(seed, stream):
        motion = BrownianGrid(shape: bShape, t0: times[0], dt: dt, seed: seed, stream: stream, levyArea: Solver.needsLevyArea)
    case let .interval(seed, stream):
        motion = BrownianInterval(shape: bShape, t0: times[0], t1: max(times.last!, times[0] + dt), seed: seed, stream: stream,
                                      levyArea: Solver.needsLevyArea)
    case let .custom(m):
        guard m.shape == bShape else { throw SDEError.shapeMismatch(what: "The Brownian motion", expected: bShape, found: m.shape) }
        motion = m
    }
    if Solver.needsLevyArea && !motion.providesLevyArea { throw SDEError.levyAreaUnavailable(solver: Solver.name) }
    let schedule = stepSchedule(times: times, dt: dt)
    for segment in schedule { for t in segment where !motion.canQuery(at: t) { throw SDEError.brownianQueryUnavailable(time: t) } }
    if !motion.canQuery(at: times[0]) { throw SDEError.brownianQueryUnavailable(time: times[0]) }

    var stats = SolverStats()
    var y = y0
    var states = [y0]
    var solverState: [Tensor]?
    var t = times[0]
    for segment in schedule {
        for tNext in segment {
            let result = solver.step(sde, from: t, to: tNext, state: y, increment: motion.increment(from: t, to: tNext),
                                     solverState: solverState)
            stats.acceptedSteps += 1
            stats.driftEvaluations += result.driftEvaluations
            stats.diffusionEvaluations += result.diffusionEvaluations
            guard result.state.isFinite else { throw SDEError.nonFiniteState(step: stats.acceptedSteps, time: tNext) }
            y = result.state
            solverState = result.solverState
            t = tNext
        }
        states.append(y)
    }
    return Solution(states: stackStates(states), times: times, stats: stats)
}

/// ``sdeint(_:y0:times:solver:dt:brownian:)`` with a solver chosen by ``SolverKind``.
public func sdeint<S: SDE>(
    _ sde: S, y0: Tensor, times: [Double], solver: SolverKind, dt: Double,
    brownian: BrownianSource = .grid(seed: 0)
) throws -> Solution {
    try sdeint(sde, y0: y0, times: times, solver: solver.solver, dt: dt, brownian: brownian)
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

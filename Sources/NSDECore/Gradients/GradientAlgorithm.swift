import NSDENN
import NSDETensor

/// One way of differentiating a solve, behind ``GradientMethod``: which solvers it accepts, how
/// the forward pass runs, and what backward pass the solution's tape node runs.
///
/// ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` asks ``GradientMethod/algorithm``
/// for the method's algorithm, calls ``validate(_:method:)`` before anything else and
/// ``solve(_:y0:stats:name:)`` with the integrator it built; nothing else in the solve depends on
/// the method. Adding a method is one file here (a type conforming to this protocol, usually with
/// ``solveOffTape(_:y0:stats:name:onAccepted:pullback:)`` and its backward pass) plus its name in
/// ``GradientMethod``.
protocol GradientAlgorithm: Sendable {
    /// Throws ``SDEError/unsupportedGradient(method:reason:)`` unless this algorithm can
    /// differentiate solves made by `solver` (`method` names it in the message).
    func validate<Solver: SDESolver>(_ solver: Solver, method: GradientMethod) throws

    /// Solves with `integrator` from `y0` and returns the states at the integrator's output
    /// times (stacked `[T, batch, …]` or one per time), differentiable with respect to `y0` and
    /// the SDE's parameters, with the forward pass's counts. `stats` is filled by the backward pass; `name` labels the
    /// tape node.
    func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats,
                                          name: String) throws -> (states: SolvedStates, stats: SolverStats)
}

extension GradientAlgorithm {
    /// Accepts every solver.
    func validate<Solver: SDESolver>(_ solver: Solver, method: GradientMethod) throws {}

    /// The forward pass of the memory-saving methods: solves off the tape (`onAccepted` sees each
    /// accepted step: index, record, state and solver state after it), then records one
    /// ``SolveOp`` with inputs y₀ and the SDE's parameters whose pullback is
    /// `pullback(context, run)`.
    func solveOffTape<S: SDE, Solver: SDESolver>(
        _ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats, name: String,
        onAccepted: ((Int, StepRecord, Tensor, [Tensor]?) -> Void)? = nil,
        pullback: (BackwardContext<S, Solver>, ForwardRun) -> (Tensor) -> [Tensor?]
    ) throws -> (states: SolvedStates, stats: SolverStats) {
        let parameters = uniqueParameters(integrator.sde.parameters)
        let run = try noGrad { try integrator.run(y0: y0.detached(), onAccepted: onAccepted) }
        let value = noGrad { stackStates(run.outputs) }
        let context = BackwardContext(integrator: integrator, steps: run.steps, outputCount: integrator.times.count,
                                      parameters: parameters, stats: stats)
        let backward = pullback(context, run)
        let states = Tensor.record(value, inputs: [y0] + parameters.map(\.value)) { SolveOp(name: name, pullback: backward) }
        return (.stacked(states), run.stats)
    }
}

/// ``GradientMethod/backprop``: the steps are recorded on the tape as they run.
struct BackpropAlgorithm: GradientAlgorithm {
    func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats,
                                          name: String) throws -> (states: SolvedStates, stats: SolverStats) {
        // An MLP drift with a built-in diffusion: one tape node for the whole solve.
        if let solved = try TapeFreeEulerMaruyama.solve(integrator, y0: y0, name: name) { return solved }
        let run = try integrator.run(y0: y0)
        // The states stay separate: the model reads the final one, with no stacking copy on
        // the way forward and no slice gradient on the way back.
        return (.separate(run.outputs), run.stats)
    }
}

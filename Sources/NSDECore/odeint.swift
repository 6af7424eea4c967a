import Foundation
import NSDETensor
import NSDENN

/// The registry of ODE solvers for ``odeint(_:y0:times:solver:dt:rtol:atol:maxSteps:)``.
public enum ODESolverKind: String, CaseIterable, Sendable {
    /// ``Euler`` (order 1, fixed steps).
    case euler
    /// ``Midpoint`` (order 2, fixed steps).
    case midpoint
    /// ``RK4`` (order 4, fixed steps).
    case rk4
    /// ``DormandPrince5`` (order 5, adaptive).
    case dopri5

    /// A solver instance of this kind.
    public var solver: any ODESolver {
        switch self {
        case .euler: return Euler()
        case .midpoint: return Midpoint()
        case .rk4: return RK4()
        case .dopri5: return DormandPrince5()
        }
    }
}

/// Solves the ODE dy/dt = f(t, y) from y₀, returning the states at `times`.
///
/// Fixed-step methods take steps of `dt` from `times[0]`, shortening the last step before each
/// output time to land on it. Adaptive methods (``DormandPrince5``) start from `dt` (or a
/// heuristic when `nil`) and accept a step when the RMS norm of error / (atol + rtol·max(|y₀|, |y₁|))
/// is at most 1; the next step is Δt·min(5, max(0.2, 0.9·norm^(−1/5))) (a step clipped to land on
/// an output time does not shrink the next proposal). Every accepted state is recorded on the
/// autodiff tape. The steps run on the same loop as ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)``
/// (the ODE as an SDE without noise, the classical controller as a ``PIController`` with
/// proportional coefficient 0).
///
/// - Parameters:
///   - f: the right-hand side f(t, y), returning y's shape.
///   - y0: the initial state `[batch, …]` at `times[0]`.
///   - times: output times (model time units), strictly increasing.
///   - solver: the method (default ``ODESolverKind/dopri5``).
///   - dt: the step (fixed methods, required) or the first step (adaptive methods, optional).
///   - rtol, atol: relative and absolute tolerances for adaptive methods (defaults 1e-5, 1e-6; float32 states).
///   - maxSteps: the most steps (accepted plus rejected) before giving up (default 100 000).
/// - Returns: states `[T, batch, …]`, with evaluation and accepted/rejected step counts.
/// - Throws: ``SDEError`` for invalid grids, steps or tolerances, shape mismatches, non-finite
///   states, step-size underflow and too many steps.
public func odeint(
    _ f: (Double, Tensor) -> Tensor, y0: Tensor, times: [Double], solver: ODESolverKind = .dopri5,
    dt: Double? = nil, rtol: Double = 1e-5, atol: Double = 1e-6, maxSteps: Int = 100_000
) throws -> Solution {
    try odeint(f, y0: y0, times: times, solver: solver.solver, dt: dt, rtol: rtol, atol: atol, maxSteps: maxSteps)
}

/// ``odeint(_:y0:times:solver:dt:rtol:atol:maxSteps:)`` with a solver instance.
public func odeint<Solver: ODESolver>(
    _ f: (Double, Tensor) -> Tensor, y0: Tensor, times: [Double], solver: Solver,
    dt: Double? = nil, rtol: Double = 1e-5, atol: Double = 1e-6, maxSteps: Int = 100_000
) throws -> Solution {
    try validateTimes(times)
    if let dt, !(dt > 0 && dt.isFinite) { throw SDEError.invalidStepSize(dt) }
    // The parameters f reads do not change during the solve: layers reuse derived constants (a
    // weight's transpose) for all of its steps.
    return try Parameter.withValuesFixed {
        let f0 = f(times[0], y0)
        guard f0.shape == y0.shape else { throw SDEError.shapeMismatch(what: "The right-hand side f(t, y)", expected: y0.shape, found: f0.shape) }
        // The same stepping loop as sdeint: fixed steps of dt, or the classical controller
        // h ← h·clamp(0.9·e^(−1/order), 0.2, 5) on the method's embedded error estimate.
        let controller: any StepSizeController
        let firstStep: Double
        if Solver.isAdaptive {
            let adaptive = PIController(rtol: rtol, atol: atol, pCoefficient: 0, iCoefficient: 1, safety: 0.9, factorMin: 0.2,
                                        factorMax: 5, maxSteps: maxSteps)
            try adaptive.validate()
            controller = adaptive
            firstStep = dt ?? initialStep(y0: y0, f0: f0, rtol: rtol, atol: atol, span: times.last! - times[0], order: Solver.order)
        } else {
            guard let dt else { throw SDEError.missingStepSize(solver: Solver.name) }
            controller = ConstantStepSize()
            firstStep = dt
        }
        var run = try withoutActuallyEscaping(f) { f in
            let integrator = Integrator(sde: ODEProblem(f: f), solver: ODEStepper(method: solver),
                                        motion: ZeroBrownianMotion(shape: y0.shape, levyArea: false), controller: controller,
                                        dt: firstStep, times: times)
            return try integrator.run(y0: y0, initialSolverState: [f0])
        }
        run.stats.driftEvaluations += 1   // f0
        return Solution(solved: .separate(run.outputs), times: times, stats: run.stats)
    }
}

/// Hairer's first-step heuristic (simplified): 0.01·‖y₀‖/‖f₀‖ in the tolerance-weighted RMS
/// norm, 10⁻⁶ when either is tiny, at most the whole span.
private func initialStep(y0: Tensor, f0: Tensor, rtol: Double, atol: Double, span: Double, order: Int) -> Double {
    let zero = Tensor(repeating: 0, shape: y0.shape)
    let d0 = scaledRMSNorm(y0, y0, zero, rtol: rtol, atol: atol)
    let d1 = scaledRMSNorm(f0, y0, zero, rtol: rtol, atol: atol)
    let h = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1
    return min(h, span)
}

import Foundation
import NSDETensor

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
/// is at most 1; the next step is Δt·min(5, max(0.2, 0.9·norm^(−1/5))); steps are clipped to land
/// on each output time. Every accepted state is recorded on the autodiff tape.
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
    let f0 = f(times[0], y0)
    guard f0.shape == y0.shape else { throw SDEError.shapeMismatch(what: "The right-hand side f(t, y)", expected: y0.shape, found: f0.shape) }
    var stats = SolverStats()
    stats.driftEvaluations = 1
    var states = [y0]
    var y = y0

    guard Solver.isAdaptive else {
        guard let dt else { throw SDEError.missingStepSize(solver: Solver.name) }
        var t = times[0]
        var derivative: Tensor? = f0
        for segment in stepSchedule(times: times, dt: dt) {
            for tNext in segment {
                let r = solver.step(f, from: t, to: tNext, state: y, firstDerivative: derivative)
                derivative = nil
                stats.driftEvaluations += r.evaluations
                stats.acceptedSteps += 1
                guard r.state.isFinite else { throw SDEError.nonFiniteState(step: stats.acceptedSteps, time: tNext) }
                y = r.state
                t = tNext
            }
            states.append(y)
        }
        return Solution(states: stackStates(states), times: times, stats: stats)
    }

    guard rtol > 0, atol > 0, rtol.isFinite, atol.isFinite else { throw SDEError.invalidTolerance(rtol: rtol, atol: atol) }
    let span = times.last! - times[0]
    var h = dt ?? initialStep(y0: y0, f0: f0, rtol: rtol, atol: atol, span: span, order: Solver.order)
    var t = times[0]
    var derivative = f0
    for target in times.dropFirst() {
        while t < target {
            if stats.acceptedSteps + stats.rejectedSteps >= maxSteps { throw SDEError.tooManySteps(maxSteps: maxSteps, time: t) }
            let landing = t + h >= target - 1e-12 * Swift.abs(target)
            let tNext = landing ? target : t + h
            let hStep = tNext - t
            guard hStep > Swift.abs(t).ulp * 4 else { throw SDEError.stepSizeUnderflow(time: t) }
            let r = solver.step(f, from: t, to: tNext, state: y, firstDerivative: derivative)
            stats.driftEvaluations += r.evaluations
            let norm = errorNorm(r.error!, y, r.state, rtol: rtol, atol: atol)
            let factor = norm == 0 ? 5 : min(5, max(0.2, 0.9 * pow(norm, -1.0 / Double(Solver.order))))
            if norm <= 1 && norm.isFinite {
                stats.acceptedSteps += 1
                guard r.state.isFinite else { throw SDEError.nonFiniteState(step: stats.acceptedSteps, time: tNext) }
                y = r.state
                t = tNext
                derivative = r.finalDerivative ?? f(t, y)
                if r.finalDerivative == nil { stats.driftEvaluations += 1 }
                h = hStep * factor
            } else {
                stats.rejectedSteps += 1
                h = hStep * (norm.isFinite ? factor : 0.2)
            }
        }
        states.append(y)
    }
    return Solution(states: stackStates(states), times: times, stats: stats)
}

/// RMS of error / (atol + rtol·max(|y₀|, |y₁|)), accumulated in Double.
private func errorNorm(_ error: Tensor, _ y0: Tensor, _ y1: Tensor, rtol: Double, atol: Double) -> Double {
    scaledRMSNorm(error, y0, y1, rtol: rtol, atol: atol)
}

/// Hairer's first-step heuristic (simplified): 0.01·‖y₀‖/‖f₀‖ in the tolerance-weighted RMS
/// norm, 10⁻⁶ when either is tiny, at most the whole span.
private func initialStep(y0: Tensor, f0: Tensor, rtol: Double, atol: Double, span: Double, order: Int) -> Double {
    let zero = Tensor(repeating: 0, shape: y0.shape)
    let d0 = errorNorm(y0, y0, zero, rtol: rtol, atol: atol)
    let d1 = errorNorm(f0, y0, zero, rtol: rtol, atol: atol)
    let h = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1
    return min(h, span)
}

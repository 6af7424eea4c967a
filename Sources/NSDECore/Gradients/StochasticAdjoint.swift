import Foundation
import NSDENN
import NSDETensor

/// ``GradientMethod/adjoint``: the forward solve keeps only the outputs; ``StochasticAdjoint``
/// is the backward pass. Not for solvers that carry state between steps.
struct StochasticAdjointAlgorithm: GradientAlgorithm {
    let rtol: Double
    let atol: Double
    let maxIterations: Int

    func validate<Solver: SDESolver>(_ solver: Solver, method: GradientMethod) throws {
        if Solver.carriesState {
            throw SDEError.unsupportedGradient(
                method: method.description,
                reason: "\(Solver.name) carries state between steps, which the adjoint cannot invert; use gradient: .reversibleAdjoint")
        }
    }

    func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats,
                                          name: String) throws -> (states: SolvedStates, stats: SolverStats) {
        try solveOffTape(integrator, y0: y0, stats: stats, name: name) { context, run in
            let adjoint = StochasticAdjoint(context: context, rtol: rtol, atol: atol, maxIterations: maxIterations)
            let finalState = run.outputs.last!
            return { adjoint.pullback($0, finalState: finalState) }
        }
    }
}

/// The backward pass of ``GradientMethod/adjoint``: walks the accepted steps from the end,
/// reconstructing each step's starting state by inverting the forward step on the replayed
/// Brownian increment, then pulling the adjoint back through that step (see the method's doc).
/// Holds one state, one adjoint and one step's tape at a time: O(1) memory in the number of steps.
struct StochasticAdjoint<S: SDE, Solver: SDESolver> {
    let context: BackwardContext<S, Solver>
    let rtol: Double
    let atol: Double
    let maxIterations: Int

    /// Gradients of [y₀] + parameters given the cotangent `upstream` of the stacked outputs and
    /// the final state `yEnd`.
    func pullback(_ upstream: Tensor, finalState yEnd: Tensor) -> [Tensor?] {
        let integrator = context.integrator
        let stats = context.stats
        let last = context.outputCount - 1
        var a = context.outputCotangent(upstream, last)
        var y = yEnd
        // Iterations after the initial guess that the previous step needed: all but the last are
        // run off the tape (the same values; only the pulled-back evaluation needs recording).
        var expected = 1
        // The contraction factor ρ of the previous step's last iteration (see `errorEstimate`).
        var previousContraction = 0.0
        // Euler–Maruyama steps of a tape-free drift evaluate and pull back without the tape,
        // summing the parameters' gradients here (the same values as their tape).
        let stepper = TapeFreeStepper(integrator, rows: yEnd.shape.first ?? 0)
        var sums = [Tensor?](repeating: nil, count: stepper?.parameters.count ?? 0)
        // With the stepper, the drift at the point the later step was pulled back at: its drift
        // network ignores time, so the next step's initial guess reuses it (see below).
        var laterDrift: Tensor?
        let isolated = context.isolatingParameterGradients {
            for record in context.steps.reversed() {
                if let i = record.output, i != last { a = a + context.outputCotangent(upstream, i) }
                let increment = integrator.motion.increment(from: record.t0, to: record.t1)
                func step(_ x: Tensor) -> Tensor {
                    if let stepper { return stepper.step(x, from: record.t0, to: record.t1, dW: increment.w)!.next }
                    return integrator.solver.step(integrator.sde, from: record.t0, to: record.t1, state: x,
                                                  increment: increment, solverState: nil).state
                }
                // Fixed-point iterations x ← T(x) = y − (Φ(x) − x), starting from x = y (the first
                // iterate, T(y) = 2y − Φ(y), is the initial guess). Each returns the scaled RMS size r
                // of its correction; the ratio of successive corrections estimates T's contraction ρ,
                // and the error of the new iterate is at most ρ/(1 − ρ)·r (the standard a-posteriori
                // bound, as in Hairer & Wanner's simplified-Newton stopping test). A step is done when
                // that estimate is within tolerance; while ρ is not clearly below 1 (≥ ½) the
                // estimate is the correction itself. The last evaluation is on the tape and pulled back.
                // Tape-free, the initial guess takes f from the later step's last evaluation, made at
                // that step's final iterate (y less its last correction, within the tolerance) instead
                // of evaluating the network at y: a second-order change to the first iterate only,
                // which the iterations then correct with exact evaluations, and one network
                // evaluation fewer per step.
                let reused = stepper != nil && laterDrift != nil
                var (x, previousResidual) = noGrad {
                    let out = reused ? stepper!.update(y, drift: laterDrift!, from: record.t0, to: record.t1, dW: increment.w)
                        : step(y)
                    return Elementwise.fixedPointStep(y: y, out: out, x: y, rtol: rtol, atol: atol)
                }
                var contraction = previousContraction
                func errorEstimate(_ residual: Double) -> Double {
                    let ratio = previousResidual > 0 ? residual / previousResidual : 0
                    let rho = Swift.max(ratio, previousContraction)
                    return rho < 0.5 ? residual * rho / (1 - rho) : residual
                }
                func isDone(_ residual: Double, _ iterations: Int) -> Bool {
                    errorEstimate(residual) <= 1 || iterations > maxIterations || !residual.isFinite
                }
                func advance(_ residual: Double) {
                    contraction = previousResidual > 0 ? residual / previousResidual : 0
                    previousResidual = residual
                }
                var iterations = 1
                var offTape = expected - 1, points = 0, reevaluating = false
                var pulledBack: Tensor?
                while pulledBack == nil {
                    if offTape > 0 {
                        let (next, residual) = noGrad { Elementwise.fixedPointStep(y: y, out: step(x), x: x, rtol: rtol, atol: atol) }
                        iterations += 1
                        points += 1
                        offTape -= 1
                        // Converged sooner than the previous step: evaluate x again, on the tape.
                        if !isDone(residual, iterations) { advance(residual); x = next; continue }
                        reevaluating = true
                    }
                    // The evaluation to pull back: tape-free with its saved tensors, or on the tape
                    // from a leaf.
                    let tapeFree = stepper?.step(x, from: record.t0, to: record.t1, dW: increment.w, needsDrift: true)
                    let leaf = tapeFree == nil ? gradientLeaf(x) : x
                    let out = tapeFree?.next ?? enableGrad { step(leaf) }
                    let (next, residual) = noGrad { Elementwise.fixedPointStep(y: y, out: out.detached(), x: x, rtol: rtol, atol: atol) }
                    iterations += 1
                    if !reevaluating { points += 1 }
                    if isDone(residual, iterations) {
                        let estimate = errorEstimate(residual)
                        if !(estimate <= 1) { stats.unconvergedSteps += 1 }
                        stats.maxReconstructionResidual = Swift.max(stats.maxReconstructionResidual, estimate)
                        advance(residual)
                        if let stepper, let tapeFree {
                            pulledBack = stepper.pullback(a, tapeFree.saved, sums: &sums)
                            laterDrift = tapeFree.drift
                        } else {
                            enableGrad { out.backward(a) }
                            pulledBack = leaf.grad ?? Tensor(repeating: 0, shape: x.shape)
                        }
                        y = next
                    } else {
                        advance(residual)
                        x = next
                    }
                }
                a = pulledBack!
                expected = Swift.max(1, points)
                previousContraction = contraction
                stats.steps += 1
                stats.stepEvaluations += reused ? iterations - 1 : iterations
                stats.reconstructionIterations += iterations
            }
        }
        if stats.unconvergedSteps > 0 {
            // Not an error the tape can throw; say it where a PyTorch user would see a warning.
            FileHandle.standardError.write(Data(("warning: stochastic adjoint: the state reconstruction did not converge on \(stats.unconvergedSteps) of \(stats.steps) steps (largest scaled residual \(stats.maxReconstructionResidual)); the step is too large for the drift's Lipschitz constant, so these gradients are inaccurate. Use smaller steps, gradient: .checkpointed(every:) or .reversibleAdjoint.\n").utf8))
        }
        let parameterGradients = stepper.map { $0.gradients(sums, of: context.parameters) } ?? isolated
        return [a + context.outputCotangent(upstream, 0)] + parameterGradients.map { Optional($0) }
    }
}

import NSDENN
import NSDETensor

/// ``GradientMethod/forwardSensitivity``: the forward solve keeps only the outputs;
/// ``ForwardSensitivity`` computes the gradient by tangent solves on the same path.
struct ForwardSensitivityAlgorithm: GradientAlgorithm {
    func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats,
                                          name: String) throws -> (states: SolvedStates, stats: SolverStats) {
        let start = y0.detached()
        return try solveOffTape(integrator, y0: y0, stats: stats, name: name) { context, _ in
            let sensitivity = ForwardSensitivity(context: context)
            return { sensitivity.pullback($0, y0: start) }
        }
    }
}

/// The backward pass of ``GradientMethod/forwardSensitivity`` (Liu et al. 2019, Theorem 3.1):
/// for each scalar input w — every element of y₀ and of each parameter — re-runs the forward
/// solve on the same steps and Brownian increments with a forward-mode tangent on w, so each
/// state carries β = ∂y/∂w (eq. 10 discretised by the solver), and pairs the tangents at the
/// output times with their cotangents.
struct ForwardSensitivity<S: SDE, Solver: SDESolver> {
    let context: BackwardContext<S, Solver>

    /// Σᵢ ⟨∂L/∂y(tᵢ), β(tᵢ)⟩ for one tangent direction, set up by `seed` around the solve.
    private func directional(_ upstream: Tensor, y0: Tensor) -> Float {
        var total: Float = 0
        let (yEnd, _) = context.integrator.replay(context.steps[...], from: y0, solverState: nil) { record, y, _ in
            if let i = record.output, i != context.outputCount - 1, let beta = y.tangent {
                total += (beta * context.outputCotangent(upstream, i)).sum().scalars[0]
            }
        }
        if let beta = yEnd.tangent { total += (beta * context.outputCotangent(upstream, context.outputCount - 1)).sum().scalars[0] }
        context.stats.forwardSolves += 1
        context.stats.steps += context.steps.count
        context.stats.stepEvaluations += context.steps.count
        return total
    }

    /// A one-hot tensor of `shape` with a 1 at flat index `k`.
    private func basis(_ shape: [Int], _ k: Int) -> Tensor {
        var scalars = [Float](repeating: 0, count: shape.reduce(1, *))
        scalars[k] = 1
        return Tensor(shape: shape, scalars: scalars)
    }

    func pullback(_ upstream: Tensor, y0: Tensor) -> [Tensor?] {
        noGrad {
            let start = y0.detached()
            var gy0 = [Float](repeating: 0, count: start.count)
            for k in 0..<start.count {
                gy0[k] = directional(upstream, y0: start.withTangent(basis(start.shape, k)))
            }
            var gradients: [Tensor?] = [Tensor(shape: start.shape, scalars: gy0) + context.outputCotangent(upstream, 0)]
            for p in context.parameters {
                var g = [Float](repeating: 0, count: p.value.count)
                for k in 0..<g.count {
                    g[k] = p.withTangent(basis(p.shape, k)) { directional(upstream, y0: start) }
                }
                gradients.append(Tensor(shape: p.shape, scalars: g))
            }
            return gradients
        }
    }
}

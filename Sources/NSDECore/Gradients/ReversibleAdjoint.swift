import NSDENN
import NSDETensor

/// ``GradientMethod/reversibleAdjoint``: the forward solve keeps only the outputs and the final
/// solver state; ``ReversibleAdjoint`` is the backward pass. ``ReversibleHeun`` only.
struct ReversibleAdjointAlgorithm: GradientAlgorithm {
    func validate<Solver: SDESolver>(_ solver: Solver, method: GradientMethod) throws {
        guard solver is ReversibleHeun else {
            throw SDEError.unsupportedGradient(method: method.description,
                                               reason: "it needs the Reversible Heun solver, got \(Solver.name)")
        }
    }

    func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats,
                                          name: String) throws -> (states: SolvedStates, stats: SolverStats) {
        // validate(_:method:) ran first: the solver is Reversible Heun.
        let reversible = Integrator(sde: integrator.sde, solver: integrator.solver as! ReversibleHeun, motion: integrator.motion,
                                    controller: integrator.controller, dt: integrator.dt, times: integrator.times,
                                    shapeCheck: integrator.shapeCheck)
        return try solveOffTape(reversible, y0: y0, stats: stats, name: name) { context, run in
            let adjoint = ReversibleAdjoint(context: context)
            let finalState = run.outputs.last!, finalSolverState = run.finalSolverState ?? []
            let parameters = context.parameters
            return { upstream in
                // With no step taken there is nothing to invert: the output is y₀ itself.
                finalSolverState.count == 3
                    ? adjoint.pullback(upstream, finalState: finalState, finalSolverState: finalSolverState)
                    : [upstream.sum(axis: 0)] + parameters.map { Tensor(repeating: 0, shape: $0.shape) }
            }
        }
    }
}

/// The backward pass of ``GradientMethod/reversibleAdjoint`` for ``ReversibleHeun``.
///
/// The forward step maps (yₙ, zₙ, Fₙ, Gₙ) to
/// zₙ₊₁ = 2yₙ − zₙ + Fₙh + Gₙ·ΔW, (Fₙ₊₁, Gₙ₊₁) = (f, g)(tₙ₊₁, zₙ₊₁),
/// yₙ₊₁ = yₙ + (Fₙ + Fₙ₊₁)h/2 + (Gₙ + Gₙ₊₁)·ΔW/2.
/// Walking back, each step (1) pulls the cotangents (a_y, a_z, a_F, a_G) at n + 1 back through
/// (Fₙ₊₁, Gₙ₊₁) = (f, g)(zₙ₊₁) — one pullback of the drift and diffusion — and through the two
/// linear updates, and (2) recovers (yₙ, zₙ, Fₙ, Gₙ) exactly with the solver's own algebraic
/// inverse (``ReversibleHeun/previousCoupledState(noise:dt:state:coupled:drift:diffusion:dW:)`` and
/// ``ReversibleHeun/previousState(noise:dt:state:drifts:diffusions:dW:)``, the two halves of its
/// backward step), evaluating (f, g)(zₙ) on the tape between them for the next pullback. At t₀, z₀ = y₀ and (F₀, G₀) =
/// (f, g)(y₀) close the chain. The result equals backprop through the same forward solve up to
/// float rounding.
struct ReversibleAdjoint<S: SDE> {
    let context: BackwardContext<S, ReversibleHeun>

    /// (f, g)(t, z) on the tape, from a fresh leaf z.
    private func tapedCoefficients(_ t: Double, _ z: Tensor) -> (leaf: Tensor, f: Tensor, g: Tensor) {
        let sde = context.integrator.sde
        let leaf = gradientLeaf(z)
        return enableGrad {
            let f = sde.drift(t, leaf)
            return (leaf, f, sde.diffusion(t, leaf, drift: f))
        }
    }

    /// The pullback ⟨âF, ∂f/∂z⟩ + ⟨âG, ∂g/∂z⟩ at the taped point (parameters accumulate too).
    private func pull(_ taped: (leaf: Tensor, f: Tensor, g: Tensor), _ aF: Tensor, _ aG: Tensor) -> Tensor {
        enableGrad {
            let s = (taped.f * aF).sum() + (taped.g * aG).sum()
            if s.requiresGrad { s.backward() }
        }
        return taped.leaf.grad ?? Tensor(repeating: 0, shape: taped.leaf.shape)
    }

    /// Gradients of [y₀] + parameters given the cotangent of the stacked outputs, the final state
    /// and the final solver state [z, F, G].
    func pullback(_ upstream: Tensor, finalState yEnd: Tensor, finalSolverState: [Tensor]) -> [Tensor?] {
        let integrator = context.integrator
        let noise = integrator.sde.noise
        let stats = context.stats
        let last = context.outputCount - 1
        var aY = context.outputCotangent(upstream, last)
        var y = yEnd
        var (z, f, g) = (finalSolverState[0], finalSolverState[1], finalSolverState[2])
        var aZ = Tensor(repeating: 0, shape: z.shape)
        var aF = Tensor(repeating: 0, shape: f.shape)
        var aG = Tensor(repeating: 0, shape: g.shape)
        let tEnd = context.steps.last?.t1 ?? 0
        var taped = tapedCoefficients(tEnd, z)
        let parameterGradients = context.isolatingParameterGradients {
            for record in context.steps.reversed() {
                if let i = record.output, i != last { aY = aY + context.outputCotangent(upstream, i) }
                let h = Float(record.t1 - record.t0)
                let dW = integrator.motion.increment(from: record.t0, to: record.t1).w
                // (1) Pull back through (F, G)(z_{n+1}) and the linear updates.
                let aFHat = aF + aY * (h / 2)
                let aGHat = aG + noise.applyTranspose(aY, dW) * 0.5
                let aZHat = aZ + pull(taped, aFHat, aGHat)
                // (2) Recover step n exactly and tape (f, g)(z_n).
                let zPrev = ReversibleHeun.previousCoupledState(noise: noise, dt: h, state: y, coupled: z, drift: f,
                                                                diffusion: g, dW: dW)
                taped = tapedCoefficients(record.t0, zPrev)
                let fPrev = taped.f.detached(), gPrev = taped.g.detached()
                let yPrev = ReversibleHeun.previousState(noise: noise, dt: h, state: y, drifts: (fPrev, f),
                                                         diffusions: (gPrev, g), dW: dW)
                aF = aY * (h / 2) + aZHat * h
                aG = noise.applyTranspose(aY * 0.5 + aZHat, dW)
                aY = aY + aZHat * 2
                aZ = aZHat * -1
                (y, z, f, g) = (yPrev, zPrev, fPrev, gPrev)
                stats.steps += 1
                stats.stepEvaluations += 1
            }
            // z₀ = y₀ and (F₀, G₀) = (f, g)(y₀).
            let closing = pull(taped, aF, aG)
            aY = aY + aZ + closing
        }
        return [aY + context.outputCotangent(upstream, 0)] + parameterGradients.map { Optional($0) }
    }
}

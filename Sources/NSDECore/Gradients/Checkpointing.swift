import NSDENN
import NSDETensor

/// A stored point of the forward solve for ``GradientMethod/checkpointed(every:)``: the state (and
/// solver state) after `step` accepted steps. (Not to be confused with `Checkpoint`, the training run's
/// files on disk.)
struct SolveCheckpoint {
    let step: Int
    let state: Tensor
    let solverState: [Tensor]?
}

/// ``GradientMethod/checkpointed(every:)``: the forward solve stores the state (and solver state)
/// after every `every`-th step; ``CheckpointedBackprop`` is the backward pass.
struct CheckpointedAlgorithm: GradientAlgorithm {
    let every: Int

    func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats,
                                          name: String) throws -> (states: SolvedStates, stats: SolverStats) {
        var checkpoints = [SolveCheckpoint(step: 0, state: y0.detached(), solverState: nil)]
        let k = every
        return try solveOffTape(integrator, y0: y0, stats: stats, name: name, onAccepted: { index, _, y, s in
            if (index + 1) % k == 0 { checkpoints.append(SolveCheckpoint(step: index + 1, state: y, solverState: s)) }
        }, pullback: { context, _ in
            let backprop = CheckpointedBackprop(context: context, checkpoints: checkpoints)
            return { backprop.pullback($0) }
        })
    }
}

/// The backward pass of ``GradientMethod/checkpointed(every:)``: for each stretch between
/// checkpoints, last first, re-runs the stretch from its checkpoint and backpropagates the
/// cotangent of its end state (plus those of any outputs inside it).
///
/// Where the SDE allows it (``TapeFreeStepper``: fixed Euler–Maruyama steps of a tape-free drift
/// network with a built-in diffusion, as ``GradientMethod/backprop`` requires for its one-node
/// solve), a stretch re-runs and pulls back without the tape, through the kernels of
/// ``TapeFreeEulerMaruyama`` (``NSDETensor/TanhMLPSteps`` for a tanh MLP): the bits of
/// ``GradientMethod/backprop``, whose pullback walks the same steps in the same order. Otherwise
/// each stretch is recorded on the tape and backpropagated.
struct CheckpointedBackprop<S: SDE, Solver: SDESolver> {
    let context: BackwardContext<S, Solver>
    let checkpoints: [SolveCheckpoint]

    func pullback(_ upstream: Tensor) -> [Tensor?] {
        if let stepper = tapeFreeStepper { return tapeFreePullback(upstream, stepper) }
        let steps = context.steps
        let last = context.outputCount - 1
        var aY = context.outputCotangent(upstream, last)
        var aS: [Tensor]? = nil
        let parameterGradients = context.isolatingParameterGradients {
            for (c, checkpoint) in checkpoints.enumerated().reversed() {
                let end = c + 1 < checkpoints.count ? checkpoints[c + 1].step : steps.count
                guard end > checkpoint.step else { continue }
                let yLeaf = gradientLeaf(checkpoint.state)
                let sLeaves = checkpoint.solverState?.map(gradientLeaf)
                enableGrad {
                    // Outputs strictly inside the stretch; the end state's own output cotangent is in aY.
                    var interior: [(Int, Tensor)] = []
                    var j = checkpoint.step
                    let (yEnd, sEnd) = context.integrator.replay(steps[checkpoint.step..<end], from: yLeaf, solverState: sLeaves) {
                        record, y, _ in
                        if j < end - 1, let i = record.output { interior.append((i, y)) }
                        j += 1
                    }
                    var s = (yEnd * aY).sum()
                    for (i, y) in interior { s = s + (y * context.outputCotangent(upstream, i)).sum() }
                    if let aS, let sEnd { for (a, v) in zip(aS, sEnd) { s = s + (v * a).sum() } }
                    if s.requiresGrad { s.backward() }
                }
                aY = yLeaf.grad ?? Tensor(repeating: 0, shape: yLeaf.shape)
                aS = sLeaves?.map { $0.grad ?? Tensor(repeating: 0, shape: $0.shape) }
                // The checkpoint state is an output itself when the step before it landed on one.
                if checkpoint.step > 0, let i = steps[checkpoint.step - 1].output, i != last {
                    aY = aY + context.outputCotangent(upstream, i)
                }
                context.stats.steps += end - checkpoint.step
                context.stats.stepEvaluations += end - checkpoint.step
            }
        }
        return [aY + context.outputCotangent(upstream, 0)] + parameterGradients.map { Optional($0) }
    }

    /// The stepper that re-runs the stretches without the tape, or `nil` (see the type's comment).
    private var tapeFreeStepper: TapeFreeStepper? {
        let integrator = context.integrator
        guard !integrator.controller.isAdaptive, !context.steps.isEmpty, let first = checkpoints.first, first.state.tangent == nil,
              checkpoints.allSatisfy({ $0.solverState == nil }),
              let stepper = TapeFreeStepper(integrator, rows: first.state.shape.first ?? 0),
              !stepper.parameters.contains(where: { $0.value.tangent != nil }) else { return nil }
        return stepper
    }

    /// The backward pass through `stepper`: each stretch re-run keeping what its steps' pullbacks
    /// read, then pulled back by ``TapeFreeStepsPullback`` as ``TapeFreeEulerMaruyama`` pulls back
    /// the whole solve.
    private func tapeFreePullback(_ upstream: Tensor, _ stepper: TapeFreeStepper) -> [Tensor?] {
        let steps = context.steps, motion = context.integrator.motion
        var pullback = TapeFreeStepsPullback(stepper, steps: steps, outputCount: context.outputCount) {
            context.outputCotangent(upstream, $0)
        }
        var a = context.outputCotangent(upstream, context.outputCount - 1)
        for (c, checkpoint) in checkpoints.enumerated().reversed() {
            let end = c + 1 < checkpoints.count ? checkpoints[c + 1].step : steps.count
            guard end > checkpoint.step else { continue }
            // The stretch again from its checkpoint (the forward pass's steps: the same states).
            var saved: [TapeFreeStepper.Saved] = []
            saved.reserveCapacity(end - checkpoint.step)
            var y = checkpoint.state
            for record in steps[checkpoint.step..<end] {
                let dW = motion.increment(from: record.t0, to: record.t1).w
                guard let (next, _, kept) = stepper.step(y, from: record.t0, to: record.t1, dW: dW) else {
                    preconditionFailure("CheckpointedBackprop: a tape-free step without the shape check returned nothing")
                }
                saved.append(kept)
                y = next
            }
            a = pullback.pull(a, through: saved, first: checkpoint.step)
            context.stats.steps += end - checkpoint.step
            context.stats.stepEvaluations += end - checkpoint.step
        }
        return [a] + stepper.gradients(pullback.parameterSums, of: context.parameters).map { Optional($0) }
    }
}

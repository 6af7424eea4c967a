import NSDETensor

/// One accepted solver step from ``t0`` to ``t1``; ``output`` is the index into the output
/// times when t₁ is one of them.
struct StepRecord: Equatable {
    let t0: Double
    let t1: Double
    let output: Int?
}

/// What a forward solve produced: the states at the output times, the accepted steps in order
/// (so that gradient methods can revisit them on the same Brownian path), the final solver
/// state and the counts.
struct ForwardRun {
    var outputs: [Tensor]
    var steps: [StepRecord]
    var finalSolverState: [Tensor]?
    var stats: SolverStats
}

/// The stepping loop shared by every gradient method: fixed or adaptive steps, Brownian queries,
/// finiteness checks and counts. Whether the tape records the steps is up to the caller
/// (backpropagation runs it with recording on, the memory-saving methods inside `noGrad`).
struct Integrator<S: SDE, Solver: SDESolver> {
    let sde: S
    let solver: Solver
    let motion: any BrownianMotion
    let controller: any StepSizeController
    let dt: Double
    let times: [Double]
    /// Where a ``ShapeCheckedSDE`` records a wrong shape; thrown after the step that found it.
    var shapeCheck: ShapeCheck? = nil

    /// Solves from `y0` at `times[0]` to the last time. `initialSolverState` is the solver state
    /// the first step starts from (`nil`: the solver starts fresh). `onAccepted` sees each
    /// accepted step with its index, the state and solver state after it.
    func run(y0: Tensor, initialSolverState: [Tensor]? = nil,
             onAccepted: ((Int, StepRecord, Tensor, [Tensor]?) -> Void)? = nil) throws -> ForwardRun {
        if initialSolverState == nil, let run = try runTapeFree(y0: y0, onAccepted: onAccepted) { return run }
        var run = ForwardRun(outputs: [y0], steps: [], finalSolverState: nil, stats: SolverStats())
        var y = y0
        var solverState = initialSolverState
        func accept(_ record: StepRecord, _ result: StepResult) throws {
            if let error = shapeCheck?.error { throw error }
            guard result.state.isFinite else { throw SDEError.nonFiniteState(step: run.steps.count + 1, time: record.t1) }
            y = result.state
            solverState = result.solverState
            run.steps.append(record)
            run.stats.acceptedSteps += 1
            if record.output != nil { run.outputs.append(y) }
            onAccepted?(run.steps.count - 1, record, y, solverState)
        }
        func count(_ r: StepResult) {
            run.stats.driftEvaluations += r.driftEvaluations
            run.stats.diffusionEvaluations += r.diffusionEvaluations
        }

        if !controller.isAdaptive {
            var t = times[0]
            for (i, segment) in stepSchedule(times: times, dt: dt).enumerated() {
                for (j, tNext) in segment.enumerated() {
                    let r = solver.step(sde, from: t, to: tNext, state: y, increment: motion.increment(from: t, to: tNext),
                                        solverState: solverState)
                    count(r)
                    try accept(StepRecord(t0: t, t1: tNext, output: j == segment.count - 1 ? i + 1 : nil), r)
                    t = tNext
                }
            }
            run.finalSolverState = solverState
            return run
        }

        let q = Solver.errorOrder(for: sde.noise)
        var h = dt
        var previousNorm = 1.0
        var t = times[0]
        var attempts = 0
        for (i, target) in times.enumerated().dropFirst() {
            while t < target {
                if attempts >= controller.maxSteps { throw SDEError.tooManySteps(maxSteps: controller.maxSteps, time: t) }
                attempts += 1
                let landing = t + h >= target - 1e-12 * Swift.max(Swift.abs(target), 1)
                let tNext = landing ? target : t + h
                let hStep = tNext - t
                guard hStep > Swift.max(Swift.abs(t), Swift.abs(tNext)).ulp * 16 else { throw SDEError.stepSizeUnderflow(time: t) }
                guard motion.canQuery(at: tNext) else { throw SDEError.brownianQueryUnavailable(time: tNext) }
                let full = solver.step(sde, from: t, to: tNext, state: y, increment: motion.increment(from: t, to: tNext),
                                       solverState: solverState)
                count(full)
                var pieces: [(StepRecord, StepResult)]
                let norm: Double
                if let error = full.error {
                    norm = noGrad { controller.errorNorm(error, y, full.state) }
                    pieces = [(StepRecord(t0: t, t1: tNext, output: landing ? i : nil), full)]
                } else {
                    // Step doubling on the same Brownian path: keep the two half steps.
                    let tMid = t + hStep / 2
                    let first = solver.step(sde, from: t, to: tMid, state: y, increment: motion.increment(from: t, to: tMid),
                                            solverState: solverState)
                    let second = solver.step(sde, from: tMid, to: tNext, state: first.state,
                                             increment: motion.increment(from: tMid, to: tNext), solverState: first.solverState)
                    count(first)
                    count(second)
                    norm = noGrad { controller.errorNorm(second.state - full.state, y, second.state) }
                    pieces = [(StepRecord(t0: t, t1: tMid, output: nil), first),
                              (StepRecord(t0: tMid, t1: tNext, output: landing ? i : nil), second)]
                }
                if let error = shapeCheck?.error { throw error }
                let finite = norm.isFinite && pieces.last!.1.state.isFinite
                let decision = controller.decide(step: hStep, errorNorm: finite ? norm : .infinity, errorOrder: q,
                                                 previousErrorNorm: previousNorm)
                if decision.accept {
                    for (record, result) in pieces { try accept(record, result) }
                    t = tNext
                    previousNorm = Swift.max(norm, 1e-10)
                    // A step clipped to land on an output time does not shrink the next proposal.
                    h = landing && hStep < h ? Swift.max(h, decision.nextStep) : decision.nextStep
                } else {
                    run.stats.rejectedSteps += 1
                    h = decision.nextStep
                }
            }
        }
        run.finalSolverState = solverState
        return run
    }

    /// Re-runs recorded steps from a known state without checks (the same Brownian queries, so
    /// the same values as the first time). `onStep` sees each step's record and resulting state.
    func replay(_ steps: ArraySlice<StepRecord>, from y0: Tensor, solverState s0: [Tensor]?,
                onStep: (StepRecord, Tensor, [Tensor]?) -> Void = { _, _, _ in }) -> (state: Tensor, solverState: [Tensor]?) {
        var y = y0
        var s = s0
        for record in steps {
            let r = solver.step(sde, from: record.t0, to: record.t1, state: y,
                                increment: motion.increment(from: record.t0, to: record.t1), solverState: s)
            y = r.state
            s = r.solverState
            onStep(record, y, s)
        }
        return (y, s)
    }
}

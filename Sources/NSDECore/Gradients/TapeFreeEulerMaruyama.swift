import NSDENN
import NSDETensor

/// An SDE whose Euler–Maruyama steps can be differentiated without the tape: the drift is a
/// ``TapeFreeLayer`` of y alone and the diffusion brings the update's pullback
/// (``NeuralDriftSDE`` with a supporting network and a parameter-free diffusion).
protocol TapeFreeSteppable {
    /// The drift network, or `nil` when the drift cannot run tape-free.
    var tapeFreeDrift: (any TapeFreeLayer)? { get }
    /// What ``eulerMaruyamaUpdatePullback(_:_:_:drift:dt:_:)`` reads.
    var updatePullbackReads: UpdatePullbackInputs { get }
    /// y + f·Δt + g·ΔW (the SDE's update).
    func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor
    /// The update as an elementwise update of f, when it is one (``Diffusion/eulerMaruyamaUpdateOfDrift(_:_:dt:_:)``).
    func eulerMaruyamaUpdateOfDrift(_ t: Double, _ y: Tensor, dt h: Float, _ dW: Tensor) -> ElementwiseUpdate?
    /// The update's pullback (see ``Diffusion/eulerMaruyamaUpdatePullback(_:_:_:drift:dt:_:)``).
    func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                     _ dW: Tensor?) -> (state: Tensor, drift: Tensor)
    /// g·ΔW (checked once for its shape).
    func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor
    /// The update's pullback as ``NSDETensor/TanhMLPSteps`` runs it, where the diffusion's own
    /// pullback is that one (dropout and additive noise); else `nil`.
    var tanhMLPUpdatePullback: TanhMLPSteps.UpdatePullback? { get }
}

/// A wrapper (``ShapeCheckedSDE``) around an SDE that may be ``TapeFreeSteppable``.
protocol WrapsTapeFreeSteppable {
    /// The wrapped SDE, when it is tape-free steppable.
    var tapeFreeSteppable: (any TapeFreeSteppable)? { get }
}

extension ShapeCheckedSDE: WrapsTapeFreeSteppable {
    var tapeFreeSteppable: (any TapeFreeSteppable)? { base as? any TapeFreeSteppable }
}

extension NeuralDriftSDE: TapeFreeSteppable {
    var updatePullbackReads: UpdatePullbackInputs { diffusionFunction.updatePullbackReads }
    func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                     _ dW: Tensor?) -> (state: Tensor, drift: Tensor) {
        diffusionFunction.eulerMaruyamaUpdatePullback(a, t, y, drift: f, dt: h, dW)
    }
    func eulerMaruyamaUpdateOfDrift(_ t: Double, _ y: Tensor, dt h: Float, _ dW: Tensor) -> ElementwiseUpdate? {
        diffusionFunction.eulerMaruyamaUpdateOfDrift(t, y, dt: h, dW)
    }
    var tanhMLPUpdatePullback: TanhMLPSteps.UpdatePullback? {
        switch diffusionFunction {
        case let dropout as DropoutDiffusion: .productAffine(scale: dropout.sigma)
        case is AdditiveDiffusion: .scaled
        default: nil
        }
    }
}

/// One Euler–Maruyama step run and pulled back without the tape, for an SDE that allows it
/// (``TapeFreeSteppable`` with a tape-free drift) and the ``EulerMaruyama`` solver: the forward
/// keeps what the pullbacks read (the network's saved tensors, plus the state, drift or increment
/// where the diffusion's update pullback reads them); the pullback goes through
/// ``Diffusion/eulerMaruyamaUpdatePullback(_:_:_:drift:dt:_:)`` and
/// ``TapeFreeLayer/tapeFreePullback(_:saved:inputGradient:addingInto:sums:offset:)``, summing
/// the parameters' gradients in place: the same kernels in the same order as the tape's backward
/// pass of the recorded step.
struct TapeFreeStepper {
    /// What one step keeps for its pullback.
    struct Saved {
        let t0: Double
        let dt: Float
        let network: [Tensor]
        let state: Tensor?
        let drift: Tensor?
        let noise: Tensor?
    }

    let sde: any TapeFreeSteppable
    let network: any TapeFreeLayer
    let reads: UpdatePullbackInputs
    /// The steps as whole kernels (``NSDETensor/TanhMLPSteps``: a tanh MLP drift with dropout or
    /// additive noise on one thread), or `nil`: the same bits either way.
    let fused: (steps: TanhMLPSteps, update: TanhMLPSteps.UpdatePullback)?

    /// The stepper for `integrator` and `rows` states, or `nil` when its solver or SDE does not
    /// allow one.
    init?<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, rows: Int) {
        guard Solver.self == EulerMaruyama.self,
              let sde = (integrator.sde as? any WrapsTapeFreeSteppable)?.tapeFreeSteppable ?? integrator.sde as? any TapeFreeSteppable,
              let network = sde.tapeFreeDrift else { return nil }
        (self.sde, self.network, self.reads) = (sde, network, sde.updatePullbackReads)
        if let update = sde.tanhMLPUpdatePullback, let mlp = network as? Sequential, let steps = mlp.tanhMLPSteps(rows: rows) {
            fused = (steps, update)
        } else {
            fused = nil
        }
    }

    /// The parameters whose gradients ``pullback(_:_:addingToState:sums:)`` sums, in slot order.
    var parameters: [Parameter] { network.tapeFreeParameters }

    /// y + f(y)·Δt + g·ΔW from `t0` to `t1`, recorded nowhere, with what its pullback needs.
    /// With `checkingShapes`, `nil` when the drift, the diffusion product or the update does not
    /// have y's shape (checked before the update combines them). Where the update is an
    /// elementwise update of f (``Diffusion/eulerMaruyamaUpdateOfDrift(_:_:dt:_:)``), neither its
    /// pullback nor the caller (`needsDrift`) reads f, the network fuses it into its last product
    /// (``NSDENN/TapeFreeLayer/tapeFreeForward(_:then:)``): the same bits, f never stored (`drift`
    /// is then `nil`).
    func step(_ y: Tensor, from t0: Double, to t1: Double, dW: Tensor, needsDrift: Bool = false,
              checkingShapes: Bool = false) -> (next: Tensor, drift: Tensor?, saved: Saved)? {
        let h = Float(t1 - t0)
        if !checkingShapes, !needsDrift, !reads.contains(.drift), let update = sde.eulerMaruyamaUpdateOfDrift(t0, y, dt: h, dW) {
            let (next, networkSaved): (Tensor, [Tensor])
            if let fused, y.shape == [fused.steps.rows, fused.steps.features] {
                // What the Sequential's pass saves: the first layer's input and output, the second's input.
                let (updated, hidden) = fused.steps.step(y, then: update)
                (next, networkSaved) = (updated, [y, hidden, hidden])
            } else {
                (next, networkSaved) = network.tapeFreeForward(y, then: update)
            }
            return (next, nil, Saved(t0: t0, dt: h, network: networkSaved, state: reads.contains(.state) ? y : nil, drift: nil,
                                     noise: reads.contains(.noise) ? dW : nil))
        }
        let (f, networkSaved) = network.tapeFreeForward(y)
        if checkingShapes {
            guard f.shape == y.shape, noGrad({ sde.diffusionProduct(t0, y, dW, drift: f) }).shape == y.shape else { return nil }
        }
        // y, f and ΔW carry no tape node, so nothing records this (no `noGrad` needed).
        let next = sde.eulerMaruyamaUpdate(t0, y, drift: f, dt: h, dW)
        if checkingShapes, next.shape != y.shape { return nil }
        let saved = Saved(t0: t0, dt: h, network: networkSaved, state: reads.contains(.state) ? y : nil,
                          drift: reads.contains(.drift) ? f : nil, noise: reads.contains(.noise) ? dW : nil)
        return (next, f, saved)
    }

    /// The step's update with the drift `f` already known (the drift network ignores time, so
    /// f(y) from another step's evaluation at y serves): no network evaluation.
    func update(_ y: Tensor, drift f: Tensor, from t0: Double, to t1: Double, dW: Tensor) -> Tensor {
        sde.eulerMaruyamaUpdate(t0, y, drift: f, dt: Float(t1 - t0), dW)
    }

    /// ∂L/∂y for `a` = ∂L/∂y₁ at the step that saved `saved`, adding the parameters' gradients
    /// into `sums` (one slot per ``parameters`` entry). `stateCotangent`, when given, is a
    /// gradient of y from elsewhere (an output's cotangent), summed in the tape's order: onto the
    /// update's state gradient, before the drift's pullback adds into it. `a`'s buffer may be
    /// reused.
    func pullback(_ a: Tensor, _ saved: Saved, addingToState stateCotangent: Tensor? = nil, sums: inout [Tensor?]) -> Tensor {
        var (dy, df) = sde.eulerMaruyamaUpdatePullback(a, saved.t0, saved.state, drift: saved.drift, dt: saved.dt, saved.noise)
        if let stateCotangent { dy = stateCotangent + dy }
        return network.tapeFreePullback(df, saved: saved.network, inputGradient: true, addingInto: dy, sums: &sums, offset: 0)!
    }

    /// `sums` (one slot per ``parameters`` entry) as gradients of `unique` (each parameter once;
    /// slots of a parameter listed twice are added), zeros where nothing was summed.
    func gradients(_ sums: [Tensor?], of unique: [Parameter]) -> [Tensor] {
        var result: [Tensor?] = Array(repeating: nil, count: unique.count)
        let index = Dictionary(unique.enumerated().map { (ObjectIdentifier($1), $0) }, uniquingKeysWith: { first, _ in first })
        for (parameter, sum) in zip(parameters, sums) {
            guard let sum, let i = index[ObjectIdentifier(parameter)] else { continue }
            result[i] = result[i].map { $0 + sum } ?? sum
        }
        return zip(result, unique).map { $0 ?? Tensor(repeating: 0, shape: $1.shape) }
    }
}

/// The pullback of a solve's tape-free steps, walked last step first in one stretch
/// (``TapeFreeEulerMaruyama``) or several (checkpointing, last stretch first): an output's
/// cotangent joins at its state, onto the update's state gradient before the drift's pullback adds
/// into it, and the parameters' gradients are summed across the stretches in the tape's order. A
/// tanh MLP's steps go through ``NSDETensor/TanhMLPSteps``' single-call pullback where it runs
/// (each stretch adding into the sums of the ones after it), the others through
/// ``TapeFreeStepper/pullback(_:_:addingToState:sums:)``: the same bits either way.
struct TapeFreeStepsPullback {
    let stepper: TapeFreeStepper
    /// The output (other than the last) whose state step n starts from, if any.
    private let outputStarting: [Int?]
    /// The cotangent of output i.
    private let outputCotangent: (Int) -> Tensor
    private let fused: (steps: TanhMLPSteps, update: TanhMLPSteps.UpdatePullback)?
    private var sums: [Tensor?]
    private var fusedSums: TanhMLPSteps.ParameterGradients?

    /// The pullback of the solve that took `steps` (with `outputCount` output times: y₀ is output
    /// 0, the last step's state the last output) through `stepper`.
    init(_ stepper: TapeFreeStepper, steps: [StepRecord], outputCount: Int, outputCotangent: @escaping (Int) -> Tensor) {
        let last = outputCount - 1
        var starting = [Int?](repeating: nil, count: steps.count)
        if last > 0, !steps.isEmpty { starting[0] = 0 }
        for n in 0..<max(steps.count - 1, 0) { if let i = steps[n].output, i != last { starting[n + 1] = i } }
        (self.stepper, outputStarting, self.outputCotangent) = (stepper, starting, outputCotangent)
        fused = stepper.fused.flatMap { fused in
            TanhMLPSteps.runsFused(rows: fused.steps.rows, features: fused.steps.features, hidden: fused.steps.hidden) ? fused : nil
        }
        sums = [Tensor?](repeating: nil, count: stepper.parameters.count)
    }

    /// ∂L/∂y at the state step `first` started from, for `a` = ∂L/∂y after step `first +
    /// saved.count − 1`, `saved` holding what steps `first...` kept (later stretches pulled back
    /// before). `a`'s buffer may be reused.
    mutating func pull(_ a: Tensor, through saved: [TapeFreeStepper.Saved], first: Int) -> Tensor {
        guard !saved.isEmpty else { return a }
        func cotangent(_ n: Int) -> Tensor? { outputStarting[n].map(outputCotangent) }
        if let fused {
            let steps = saved.enumerated().map { k, step in
                // What the Sequential's pass saves: the first layer's input and output, the second's input.
                TanhMLPSteps.SavedStep(state: step.network[0], hidden: step.network[1], noise: step.noise, dt: step.dt,
                                       cotangent: cotangent(first + k))
            }
            let g = fused.steps.pullback(steps, update: fused.update, gradient: a, addingInto: fusedSums)
            fusedSums = (g.w1, g.b1, g.w2, g.b2)
            return g.state
        }
        var a = a
        for k in saved.indices.reversed() {
            a = stepper.pullback(a, saved[k], addingToState: cotangent(first + k), sums: &sums)
        }
        return a
    }

    /// The parameters' gradients summed so far, one per ``TapeFreeStepper/parameters`` slot (`nil`
    /// where nothing was summed).
    var parameterSums: [Tensor?] {
        guard let fusedSums else { return sums }
        // The network's parameter slots: the first Linear's weight and bias, the second's.
        return [fusedSums.w1] + (fusedSums.b1.map { [$0] } ?? []) + [fusedSums.w2] + (fusedSums.b2.map { [$0] } ?? [])
    }
}

extension Integrator {
    /// The solve of ``run(y0:initialSolverState:onAccepted:)`` through ``TapeFreeStepper`` when
    /// nothing is being recorded (inside `noGrad`: a forward-only solve, the forward pass of the
    /// memory-saving gradient methods): each step's update fused into the drift network's last
    /// product where the network allows it, the same bits, steps, outputs and counts as the
    /// solver's own steps. `nil` where it does not apply (adaptive steps, another solver, a drift
    /// that is not tape-free, forward-mode tangents) or the first step finds a wrong shape (the
    /// solver's steps then report it).
    func runTapeFree(y0: Tensor, onAccepted: ((Int, StepRecord, Tensor, [Tensor]?) -> Void)?) throws -> ForwardRun? {
        guard !controller.isAdaptive, !GradMode.isEnabled, y0.tangent == nil, let stepper = TapeFreeStepper(self, rows: y0.shape.first ?? 0),
              !stepper.parameters.contains(where: { $0.value.tangent != nil }) else { return nil }
        return try tapeFreeSteps(stepper, y0: y0, onAccepted: onAccepted)
    }

    /// The fixed steps from `y0` through `stepper`, as the solver's loop takes them (records,
    /// outputs, counts, the non-finite state error); `keep` receives what each step saved for its
    /// pullback (`nil`: dropped). `nil` when the first step finds a wrong shape.
    func tapeFreeSteps(_ stepper: TapeFreeStepper, y0: Tensor, keep: ((TapeFreeStepper.Saved) -> Void)? = nil,
                       onAccepted: ((Int, StepRecord, Tensor, [Tensor]?) -> Void)? = nil) throws -> ForwardRun? {
        var run = ForwardRun(outputs: [y0], steps: [], finalSolverState: nil, stats: SolverStats())
        var y = y0
        var t = times[0]
        for (i, segment) in stepSchedule(times: times, dt: dt).enumerated() {
            for (j, tNext) in segment.enumerated() {
                let dW = motion.increment(from: t, to: tNext).w
                guard let (next, _, saved) = stepper.step(y, from: t, to: tNext, dW: dW, checkingShapes: run.steps.isEmpty)
                else { return nil }
                run.stats.driftEvaluations += 1
                run.stats.diffusionEvaluations += 1
                guard next.isFinite else { throw SDEError.nonFiniteState(step: run.steps.count + 1, time: tNext) }
                let record = StepRecord(t0: t, t1: tNext, output: j == segment.count - 1 ? i + 1 : nil)
                keep?(saved)
                y = next
                run.steps.append(record)
                run.stats.acceptedSteps += 1
                if record.output != nil { run.outputs.append(y) }
                onAccepted?(run.steps.count - 1, record, y, nil)
                t = tNext
            }
        }
        return run
    }
}

/// Backpropagation through fixed Euler–Maruyama steps with one tape node for the whole solve
/// (what ``GradientMethod/backprop`` runs when the SDE allows it): ``TapeFreeStepper`` steps
/// forward keeping each step's saved tensors, and the node's pullback walks them in reverse. The
/// same values as the recorded steps (to the order of one addition where the tape's order
/// differs, as for multiplicative noise); what it saves is the tape's per-op records, graph walk
/// and intermediate arrays: for an MLP drift on a small batch they cost more than the arithmetic.
enum TapeFreeEulerMaruyama {
    /// The solve, or `nil` when the integrator or the inputs do not allow it (adaptive steps,
    /// another solver, a drift that is not tape-free, forward-mode tangents, nothing to
    /// differentiate, or a shape the first step finds wrong: the tape path then reports it).
    static func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor,
                                                 name: String) throws -> (states: SolvedStates, stats: SolverStats)? {
        guard !integrator.controller.isAdaptive, GradMode.isEnabled, let stepper = TapeFreeStepper(integrator, rows: y0.shape.first ?? 0)
        else { return nil }
        let parameters = stepper.parameters
        let inputs = [y0] + parameters.map(\.value)
        guard inputs.contains(where: \.requiresGrad), !inputs.contains(where: { $0.tangent != nil }) else { return nil }

        // Forward, recorded nowhere. The first step checks the shapes the tape path checks:
        // anything wrong is left to that path (it throws the error the user should see).
        var saved: [TapeFreeStepper.Saved] = []
        guard let run = try integrator.tapeFreeSteps(stepper, y0: y0.detached(), keep: { saved.append($0) }) else { return nil }
        let outputs = run.outputs, solverStats = run.stats, steps = run.steps
        let value = noGrad { stackStates(outputs) }
        let states = Tensor.record(value, inputs: inputs) {
            SolveOp(name: name) { upstream in
                // ∂L/∂y at the end, then each step in reverse.
                func cotangent(_ i: Int) -> Tensor { stackedOutputCotangent(upstream, i) }
                var pullback = TapeFreeStepsPullback(stepper, steps: steps, outputCount: outputs.count, outputCotangent: cotangent)
                let a = pullback.pull(cotangent(outputs.count - 1), through: saved, first: 0)
                return [a] + pullback.parameterSums
            }
        }
        return (.stacked(states), solverStats)
    }
}

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
    /// The update's pullback (see ``Diffusion/eulerMaruyamaUpdatePullback(_:_:_:drift:dt:_:)``).
    func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                     _ dW: Tensor?) -> (state: Tensor, drift: Tensor)
    /// g·ΔW (checked once for its shape).
    func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor
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
}

/// Backpropagation through fixed Euler–Maruyama steps with one tape node for the whole solve
/// (what ``GradientMethod/backprop`` runs when the SDE allows it).
///
/// The forward pass runs the drift network tape-free (``TapeFreeLayer/tapeFreeForward(_:)``),
/// keeping per step what the pullbacks read (the network's saved tensors, plus the state, drift
/// or increment where the diffusion's update pullback reads them); the backward pass walks the
/// steps in reverse through ``Diffusion/eulerMaruyamaUpdatePullback(_:_:_:drift:dt:_:)`` and
/// ``TapeFreeLayer/tapeFreePullback(_:saved:inputGradient:addingInto:sums:offset:)``, summing the
/// parameters' gradients in place. Same kernels in the same order as the tape's backward pass of
/// the recorded steps, so the same values (to the order of one addition where the tape's order
/// differs, as for multiplicative noise); what it saves is the tape's per-op records, graph walk
/// and intermediate arrays: for an MLP drift on a small batch they cost more than the arithmetic.
enum TapeFreeEulerMaruyama {
    /// One step's saved tensors.
    private struct SavedStep {
        let t0: Double
        let dt: Float
        let network: [Tensor]
        let state: Tensor?
        let drift: Tensor?
        let noise: Tensor?
    }

    /// The solve, or `nil` when the integrator or the inputs do not allow it (adaptive steps,
    /// another solver, a drift that is not tape-free, forward-mode tangents, nothing to
    /// differentiate, or a shape the first step finds wrong: the tape path then reports it).
    static func solve<S: SDE, Solver: SDESolver>(_ integrator: Integrator<S, Solver>, y0: Tensor, stats: BackwardStats,
                                                 name: String) throws -> (states: SolvedStates, stats: SolverStats)? {
        guard Solver.self == EulerMaruyama.self, !integrator.controller.isAdaptive, GradMode.isEnabled,
              let sde = (integrator.sde as? any WrapsTapeFreeSteppable)?.tapeFreeSteppable ?? integrator.sde as? any TapeFreeSteppable,
              let network = sde.tapeFreeDrift else { return nil }
        let parameters = network.tapeFreeParameters
        let inputs = [y0] + parameters.map(\.value)
        guard inputs.contains(where: \.requiresGrad), !inputs.contains(where: { $0.tangent != nil }) else { return nil }
        let reads = sde.updatePullbackReads

        // Forward, recorded nowhere.
        var y = y0.detached()
        var outputs = [y]
        var saved: [SavedStep] = []
        var solverStats = SolverStats()
        var t = integrator.times[0]
        for segment in stepSchedule(times: integrator.times, dt: integrator.dt) {
            for (j, tNext) in segment.enumerated() {
                let dW = integrator.motion.increment(from: t, to: tNext).w
                let h = Float(tNext - t)
                let (f, networkSaved) = network.tapeFreeForward(y)
                if saved.isEmpty {
                    // The first step checks the shapes the tape path checks, before the update
                    // combines them: anything wrong is left to that path (it throws the error
                    // the user should see).
                    guard f.shape == y.shape, noGrad({ sde.diffusionProduct(t, y, dW, drift: f) }).shape == y.shape else { return nil }
                }
                // y, f and ΔW carry no tape node, so nothing records this (no `noGrad` needed).
                let next = sde.eulerMaruyamaUpdate(t, y, drift: f, dt: h, dW)
                if saved.isEmpty, next.shape != y.shape { return nil }
                solverStats.driftEvaluations += 1
                solverStats.diffusionEvaluations += 1
                solverStats.acceptedSteps += 1
                guard next.isFinite else { throw SDEError.nonFiniteState(step: solverStats.acceptedSteps, time: tNext) }
                saved.append(SavedStep(t0: t, dt: h, network: networkSaved,
                                       state: reads.contains(.state) ? y : nil, drift: reads.contains(.drift) ? f : nil,
                                       noise: reads.contains(.noise) ? dW : nil))
                y = next
                t = tNext
                if j == segment.count - 1 { outputs.append(y) }
            }
        }
        let value = noGrad { stackStates(outputs) }
        let last = outputs.count - 1
        let outputState = outputStateIndices(integrator: integrator)
        let slots = parameters.count
        let states = Tensor.record(value, inputs: inputs) {
            SolveOp(name: name) { upstream in
                // ∂L/∂y at the end, then each step in reverse. Where the state before a step is
                // an output, its cotangent joins the update's state gradient before the drift's
                // pullback adds into it: the order in which the tape sums them.
                var a = outputCotangent(upstream, last)
                var sums = [Tensor?](repeating: nil, count: slots)
                var output = last - 1
                for n in saved.indices.reversed() {
                    let step = saved[n]
                    var (dy, df) = sde.eulerMaruyamaUpdatePullback(a, step.t0, step.state, drift: step.drift, dt: step.dt,
                                                                   step.noise)
                    if output >= 0, outputState[output] == n {
                        dy = outputCotangent(upstream, output) + dy
                        output -= 1
                    }
                    a = network.tapeFreePullback(df, saved: step.network, inputGradient: true, addingInto: dy,
                                                 sums: &sums, offset: 0)!
                }
                return [a] + sums
            }
        }
        return (.stacked(states), solverStats)
    }

    /// For each output time, the index of its state (0 for y₀, n + 1 after step n).
    private static func outputStateIndices<S: SDE, Solver: SDESolver>(integrator: Integrator<S, Solver>) -> [Int] {
        var result = [0]
        for segment in stepSchedule(times: integrator.times, dt: integrator.dt) { result.append(result.last! + segment.count) }
        return result
    }

    /// The cotangent of output `i` (`[batch, …]`) from the stacked cotangent `[T, batch, …]`, in
    /// a buffer of its own (a slice copies; the pullbacks add into it in place).
    private static func outputCotangent(_ upstream: Tensor, _ i: Int) -> Tensor {
        upstream.slice(axis: 0, i..<(i + 1)).reshaped(Array(upstream.shape.dropFirst()))
    }
}

import NSDETensor

/// dy = f(t, y) dt as an ``SDE`` without noise, so that ``odeint(_:y0:times:solver:dt:rtol:atol:maxSteps:)``
/// runs on the same ``Integrator`` as ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)``
/// (one stepping loop: step schedule, adaptive control, finiteness and shape checks, counts).
struct ODEProblem: SDE {
    let f: (Double, Tensor) -> Tensor

    var calculus: StochasticCalculus { .ito }
    var noise: NoiseType { .additive }
    var hasNoise: Bool { false }
    func drift(_ t: Double, _ y: Tensor) -> Tensor { f(t, y) }
    func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { Tensor(repeating: 0, shape: y.shape) }
    func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor { Tensor(repeating: 0, shape: y.shape) }
    func brownianShape(state: [Int]) -> [Int] { state }
}

/// An ``ODESolver`` driven as an ``SDESolver`` on an ``ODEProblem``: the Brownian input is
/// ignored, the solver state carries the derivative at the step's end when the method has it
/// (first-same-as-last), and the embedded error estimate of an adaptive method is passed on, so
/// the ``Integrator``'s controller uses it with the method's order as the error order.
struct ODEStepper<Method: ODESolver>: SDESolver {
    let method: Method

    static var name: String { Method.name }
    var calculus: StochasticCalculus { .ito }
    static var supportedNoise: Set<NoiseType> { Set(NoiseType.allCases) }
    static var weakOrder: Double { Double(Method.order) }
    static var carriesState: Bool { true }
    static func strongOrder(for noise: NoiseType) -> Double { Double(Method.order) }
    static func errorOrder(for noise: NoiseType) -> Double { Double(Method.order) }

    func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor, increment dW: BrownianIncrement,
              solverState: [Tensor]?) -> StepResult {
        let r = method.step({ sde.drift($0, $1) }, from: t0, to: t1, state: y0, firstDerivative: solverState?.first)
        return StepResult(state: r.state, error: r.error, solverState: r.finalDerivative.map { [$0] },
                          driftEvaluations: r.evaluations, diffusionEvaluations: 0)
    }
}

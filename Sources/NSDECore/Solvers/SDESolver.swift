import NSDETensor

/// The result of one solver step: the new state, an optional local error estimate, optional
/// state carried to the next step, and the evaluations the step cost.
public struct StepResult {
    /// y(t₁), of y₀'s shape.
    public let state: Tensor
    /// A local error estimate of y₀'s shape, or `nil` when the solver has none.
    public let error: Tensor?
    /// Extra tensors carried between steps (``ReversibleHeun``: z, f(z), g(z)); `nil` otherwise.
    public let solverState: [Tensor]?
    /// Drift evaluations made by this step.
    public let driftEvaluations: Int
    /// Diffusion evaluations made by this step.
    public let diffusionEvaluations: Int

    /// Creates a step result.
    public init(state: Tensor, error: Tensor? = nil, solverState: [Tensor]? = nil,
                driftEvaluations: Int, diffusionEvaluations: Int) {
        self.state = state
        self.error = error
        self.solverState = solverState
        self.driftEvaluations = driftEvaluations
        self.diffusionEvaluations = diffusionEvaluations
    }
}

/// A one-step method for SDEs: advances y from t₀ to t₁ given the Brownian input over [t₀, t₁].
///
/// Capabilities are static so ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` can check a
/// combination before the first step: the calculus the method converges to, the noise types it
/// supports, and whether it needs the space-time Lévy area.
public protocol SDESolver {
    /// Human-readable name used in errors ("Euler–Maruyama").
    static var name: String { get }
    /// The calculus this solver instance converges to (an instance property, since ``Milstein``
    /// comes in both calculi).
    var calculus: StochasticCalculus { get }
    /// Noise types the method supports.
    static var supportedNoise: Set<NoiseType> { get }
    /// Weak order of convergence (for smooth test functions).
    static var weakOrder: Double { get }
    /// Whether ``step(_:from:to:state:increment:solverState:)`` reads ``BrownianIncrement/h``.
    static var needsLevyArea: Bool { get }
    /// Whether steps pass ``StepResult/solverState`` on to the next step (default `false`).
    static var carriesState: Bool { get }
    /// Strong order of convergence, E|y_N − y(T)| = O(Δt^order), for the given noise type.
    static func strongOrder(for noise: NoiseType) -> Double
    /// The exponent q of the local error estimate, ‖error‖ ∝ Δt^q, used by adaptive step control
    /// (default: strong order + ½, the local order of step doubling).
    static func errorOrder(for noise: NoiseType) -> Double

    /// Advances `y0` from `t0` to `t1`.
    ///
    /// - Parameters:
    ///   - sde: the SDE (its calculus and noise were checked by the caller).
    ///   - t0, t1: step start and end, t₀ < t₁ (model time units).
    ///   - y0: the state at t₀, `[batch, …]`.
    ///   - dW: the Brownian input over [t₀, t₁] (shape `sde.brownianShape(state:)`).
    ///   - solverState: the previous step's ``StepResult/solverState`` (`nil` at the first step).
    /// - Returns: the state at t₁ and the step's counts.
    func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor,
              increment dW: BrownianIncrement, solverState: [Tensor]?) -> StepResult
}

extension SDESolver {
    /// Default: the method reads only W.
    public static var needsLevyArea: Bool { false }
    /// Default: no state between steps.
    public static var carriesState: Bool { false }
    /// Default: ``strongOrder(for:)`` + ½.
    public static func errorOrder(for noise: NoiseType) -> Double { strongOrder(for: noise) + 0.5 }

    /// Throws unless this solver can solve `sde`: it supports the SDE's noise type and (unless
    /// the noise is additive, where the calculi coincide) its calculus. ``sdeint`` checks this
    /// before the first step; so does anything else that steps a solver by hand.
    ///
    /// - Throws: ``SDEError/unsupportedNoise(solver:noise:supported:)`` or
    ///   ``SDEError/calculusMismatch(solver:solverCalculus:sdeCalculus:)``.
    public func checkSupport(of sde: some SDE) throws {
        guard Self.supportedNoise.contains(sde.noise) else {
            throw SDEError.unsupportedNoise(solver: Self.name, noise: sde.noise,
                                            supported: NoiseType.allCases.filter { Self.supportedNoise.contains($0) })
        }
        if sde.noise != .additive && calculus != sde.calculus {
            throw SDEError.calculusMismatch(solver: Self.name, solverCalculus: calculus, sdeCalculus: sde.calculus)
        }
    }
}

/// An ``SDESolver`` that can also run a step backwards exactly (up to floating-point rounding),
/// recovering the state at t₀ from the state at t₁ without storing the path.
public protocol ReversibleSolver: SDESolver {
    /// Inverts ``SDESolver/step(_:from:to:state:increment:solverState:)``: given the state and
    /// solver state at `t1` and the same Brownian input, returns the state and solver state at `t0`.
    func backwardStep(_ sde: some SDE, from t1: Double, to t0: Double, state y1: Tensor,
                      increment dW: BrownianIncrement, solverState: [Tensor]) -> StepResult
}

import NSDETensor

/// Euler–Maruyama: y₁ = y₀ + f(t₀, y₀)·Δt + g(t₀, y₀)·ΔW.
///
/// - Calculus: Itô.
/// - Noise: diagonal, scalar, additive, general.
/// - Order: strong 0.5 (1.0 with additive noise); weak 1.0.
/// - Cost per step: 1 drift, 1 diffusion evaluation. Brownian input: ΔW only.
/// - Error estimate: none.
///
/// The solver of Liu et al. (2019), "Neural SDE", §3; Kloeden & Platen (1992), §10.2.
public struct EulerMaruyama: SDESolver {
    public static let name = "Euler–Maruyama"
    /// Itô.
    public var calculus: StochasticCalculus { .ito }
    public static let supportedNoise: Set<NoiseType> = [.diagonal, .scalar, .additive, .general]
    public static let weakOrder = 1.0
    public static func strongOrder(for noise: NoiseType) -> Double { noise == .additive ? 1 : 0.5 }

    /// Creates the solver.
    public init() {}

    /// One Euler–Maruyama step.
    public func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor,
                     increment dW: BrownianIncrement, solverState: [Tensor]?) -> StepResult {
        let f = sde.drift(t0, y0)
        let y1 = sde.eulerMaruyamaUpdate(t0, y0, drift: f, dt: Float(t1 - t0), dW.w)
        return StepResult(state: y1, driftEvaluations: 1, diffusionEvaluations: 1)
    }
}

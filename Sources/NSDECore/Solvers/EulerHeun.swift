import NSDETensor

/// Euler–Heun: ỹ = y₀ + g(t₀, y₀)·ΔW, y₁ = y₀ + f(t₀, y₀)·Δt + ½(g(t₀, y₀) + g(t₁, ỹ))·ΔW.
///
/// The trapezoidal average in the noise term makes it converge to the Stratonovich solution.
/// - Calculus: Stratonovich.
/// - Noise: diagonal, scalar, additive, general.
/// - Order: strong 0.5 for general noise, 1.0 for commutative noise (diagonal with gᵢ depending
///   on yᵢ only, scalar, additive); weak 1.0.
/// - Cost per step: 1 drift, 2 diffusion evaluations. Brownian input: ΔW only.
/// - Error estimate: none.
///
/// Kloeden & Platen (1992), §11.1; torchsde `euler_heun`.
public struct EulerHeun: SDESolver {
    public static let name = "Euler–Heun"
    /// Stratonovich.
    public var calculus: StochasticCalculus { .stratonovich }
    public static let supportedNoise: Set<NoiseType> = [.diagonal, .scalar, .additive, .general]
    public static let weakOrder = 1.0
    public static func strongOrder(for noise: NoiseType) -> Double { noise == .general ? 0.5 : 1.0 }

    /// Creates the solver.
    public init() {}

    /// One Euler–Heun step.
    public func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor,
                     increment dW: BrownianIncrement, solverState: [Tensor]?) -> StepResult {
        let f = sde.drift(t0, y0)
        let g0 = sde.diffusion(t0, y0, drift: f)
        let yTilde = y0 + sde.noise.apply(g0, dW.w)
        let g1 = sde.diffusion(t1, yTilde, drift: nil)
        let y1 = y0 + f * Float(t1 - t0) + sde.noise.apply((g0 + g1) * 0.5, dW.w)
        return StepResult(state: y1, driftEvaluations: 1, diffusionEvaluations: 2)
    }
}

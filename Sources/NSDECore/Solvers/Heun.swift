import NSDETensor

/// Stochastic Heun (trapezoidal predictor–corrector): ỹ = y₀ + f₀·Δt + g₀·ΔW,
/// y₁ = y₀ + ½(f₀ + f(t₁, ỹ))·Δt + ½(g₀ + g(t₁, ỹ))·ΔW, with f₀ = f(t₀, y₀), g₀ = g(t₀, y₀).
///
/// - Calculus: Stratonovich.
/// - Noise: diagonal, scalar, additive, general.
/// - Order: strong 0.5 for general noise, 1.0 for commutative noise (diagonal with gᵢ depending
///   on yᵢ only, scalar, additive); weak 1.0 (2.0 for ODEs: it is the explicit trapezoidal rule).
/// - Cost per step: 2 drift, 2 diffusion evaluations. Brownian input: ΔW only.
/// - Error estimate: y₁ − ỹ (Heun minus Euler), in ``StepResult/error``.
///
/// Kloeden & Platen (1992), §15.1; Rümelin (1982).
public struct Heun: SDESolver {
    public static let name = "Heun"
    /// Stratonovich.
    public var calculus: StochasticCalculus { .stratonovich }
    public static let supportedNoise: Set<NoiseType> = [.diagonal, .scalar, .additive, .general]
    public static let weakOrder = 1.0
    public static func strongOrder(for noise: NoiseType) -> Double { noise == .general ? 0.5 : 1.0 }
    /// The embedded estimate y₁ − ỹ compares with Euler's predictor: order 1 (1.5 for additive noise).
    public static func errorOrder(for noise: NoiseType) -> Double { noise == .additive ? 1.5 : 1.0 }

    /// Creates the solver.
    public init() {}

    /// One Heun step.
    public func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor,
                     increment dW: BrownianIncrement, solverState: [Tensor]?) -> StepResult {
        let h = Float(t1 - t0)
        let f0 = sde.drift(t0, y0)
        let g0 = sde.diffusion(t0, y0, drift: f0)
        let yTilde = y0 + f0 * h + sde.noise.apply(g0, dW.w)
        let f1 = sde.drift(t1, yTilde)
        let g1 = sde.diffusion(t1, yTilde, drift: f1)
        let y1 = y0 + (f0 + f1) * (h / 2) + sde.noise.apply((g0 + g1) * 0.5, dW.w)
        return StepResult(state: y1, error: y1 - yTilde, driftEvaluations: 2, diffusionEvaluations: 2)
    }
}

import NSDETensor

/// Derivative-free Milstein (Runge–Kutta–Milstein), elementwise:
/// y₁ = y₀ + f·Δt + g·ΔW + ½·G·(ΔW² − c·Δt), with f = f(t₀, y₀), g = g(t₀, y₀) and
/// G ≈ g·∂g/∂y a finite difference:
/// - Itô (c = 1): G = (g(t₀, y₀ + f·Δt + g·√Δt) − g)/√Δt (the O(√Δt) error of this one-sided
///   difference multiplies ΔW² − Δt, which has mean zero, so strong order 1 is kept);
/// - Stratonovich (c = 0): G = (g(t₀, y₀ + g·√Δt) − g(t₀, y₀ − g·√Δt))/(2√Δt) (central, so its
///   error is O(Δt); a one-sided difference would leave a mean O(Δt^1.5) local error
///   multiplying ΔW², and strong order 0.5).
///
/// - Calculus: Itô or Stratonovich (``SolverKind/milstein`` / ``SolverKind/milsteinStratonovich``;
///   one instance solves one calculus).
/// - Noise: diagonal, scalar, additive (general noise needs Lévy areas and is rejected).
/// - Order: strong 1.0 (diagonal noise with gᵢ depending on yᵢ only, scalar noise, additive
///   noise); weak 1.0.
/// - Cost per step: 1 drift and 2 (Itô) or 3 (Stratonovich) diffusion evaluations; 1 and 1 with
///   additive noise (then it is Euler–Maruyama). Brownian input: ΔW only.
/// - Error estimate: none.
/// - Note: assumes diagonal noise really is diagonal (gᵢ depends only on yᵢ); not checked.
///   Drift-based diffusions (dropout noise) evaluate the drift at the shifted points themselves;
///   those evaluations are not counted in the stats.
///
/// Kloeden & Platen (1992), §11.1.
public struct Milstein: SDESolver {
    public static let name = "Milstein"
    public static let supportedNoise: Set<NoiseType> = [.diagonal, .scalar, .additive]
    public static let weakOrder = 1.0
    public static func strongOrder(for noise: NoiseType) -> Double { 1.0 }

    /// The calculus this instance converges to.
    public let calculus: StochasticCalculus

    /// Creates the solver for `calculus` (default Itô).
    public init(calculus: StochasticCalculus = .ito) { self.calculus = calculus }

    /// One derivative-free Milstein step.
    public func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor,
                     increment dW: BrownianIncrement, solverState: [Tensor]?) -> StepResult {
        let h = t1 - t0, sq = Float(h.squareRoot())
        let f = sde.drift(t0, y0)
        let g = sde.diffusion(t0, y0, drift: f)
        let w = dW.w
        var y1 = y0 + f * Float(h) + sde.noise.apply(g, w)
        if sde.noise == .additive {
            return StepResult(state: y1, driftEvaluations: 1, diffusionEvaluations: 1)
        }
        // For scalar noise g has y's shape and √Δt multiplies every component.
        if calculus == .ito {
            let gHat = sde.diffusion(t0, y0 + f * Float(h) + g * sq, drift: nil)
            y1 = y1 + (gHat - g) * (w * w - Float(h)) * (1 / (2 * sq))
            return StepResult(state: y1, driftEvaluations: 1, diffusionEvaluations: 2)
        }
        let gPlus = sde.diffusion(t0, y0 + g * sq, drift: nil)
        let gMinus = sde.diffusion(t0, y0 - g * sq, drift: nil)
        y1 = y1 + (gPlus - gMinus) * (w * w) * (1 / (4 * sq))
        return StepResult(state: y1, driftEvaluations: 1, diffusionEvaluations: 3)
    }
}

import NSDETensor

/// Reversible Heun: with a second state z (z₀ = y₀),
/// zₙ₊₁ = 2yₙ − zₙ + fₙ·Δt + gₙ·ΔW, yₙ₊₁ = yₙ + ½(fₙ + fₙ₊₁)·Δt + ½(gₙ + gₙ₊₁)·ΔW,
/// where fₙ = f(tₙ, zₙ), gₙ = g(tₙ, zₙ).
///
/// Algebraically reversible: ``backwardStep(_:from:to:state:increment:solverState:)`` recovers
/// (yₙ, zₙ) from (yₙ₊₁, zₙ₊₁) exactly up to floating-point rounding, so an adjoint can
/// reconstruct the forward path without storing it.
/// - Calculus: Stratonovich.
/// - Noise: diagonal, scalar, additive, general.
/// - Order: strong 0.5 (1.0 with additive noise); weak 1.0.
/// - Cost per step: 1 drift, 1 diffusion evaluation (fₙ, gₙ are carried in the solver state).
///   Brownian input: ΔW only.
/// - Error estimate: none.
///
/// Kidger, Foster, Li & Lyons (2021), "Efficient and Accurate Gradients for Neural SDEs", §3.
public struct ReversibleHeun: ReversibleSolver {
    public static let name = "Reversible Heun"
    /// Stratonovich.
    public var calculus: StochasticCalculus { .stratonovich }
    public static let supportedNoise: Set<NoiseType> = [.diagonal, .scalar, .additive, .general]
    public static let weakOrder = 1.0
    public static func strongOrder(for noise: NoiseType) -> Double { noise == .additive ? 1.0 : 0.5 }
    /// `true`: z, f(z) and g(z) pass from step to step.
    public static var carriesState: Bool { true }

    /// Creates the solver.
    public init() {}

    /// One forward step. `solverState` is `[z, f(t₀, z), g(t₀, z)]`, or `nil` at the first step
    /// (then z = y₀). The returned solver state is `[z₁, f(t₁, z₁), g(t₁, z₁)]`.
    public func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor,
                     increment dW: BrownianIncrement, solverState: [Tensor]?) -> StepResult {
        let h = Float(t1 - t0)
        var evaluations = 0
        let z0: Tensor, f0: Tensor, g0: Tensor
        if let s = solverState, s.count == 3 {
            (z0, f0, g0) = (s[0], s[1], s[2])
        } else {
            z0 = y0
            f0 = sde.drift(t0, y0)
            g0 = sde.diffusion(t0, y0, drift: f0)
            evaluations = 1
        }
        let z1 = y0 * 2 - z0 + f0 * h + sde.noise.apply(g0, dW.w)
        let f1 = sde.drift(t1, z1)
        let g1 = sde.diffusion(t1, z1, drift: f1)
        let y1 = y0 + (f0 + f1) * (h / 2) + sde.noise.apply((g0 + g1) * 0.5, dW.w)
        return StepResult(state: y1, solverState: [z1, f1, g1],
                          driftEvaluations: 1 + evaluations, diffusionEvaluations: 1 + evaluations)
    }

    /// One backward step from t₁ to t₀ with the same ΔW: zₙ = 2yₙ₊₁ − zₙ₊₁ − fₙ₊₁·Δt − gₙ₊₁·ΔW,
    /// then yₙ = yₙ₊₁ − ½(fₙ + fₙ₊₁)·Δt − ½(gₙ + gₙ₊₁)·ΔW. `solverState` is `[z₁, f(t₁, z₁), g(t₁, z₁)]`.
    public func backwardStep(_ sde: some SDE, from t1: Double, to t0: Double, state y1: Tensor,
                             increment dW: BrownianIncrement, solverState: [Tensor]) -> StepResult {
        precondition(solverState.count == 3, "ReversibleHeun.backwardStep: solver state must be [z, f, g]")
        let h = Float(t1 - t0)
        let (z1, f1, g1) = (solverState[0], solverState[1], solverState[2])
        let z0 = Self.previousCoupledState(noise: sde.noise, dt: h, state: y1, coupled: z1, drift: f1, diffusion: g1, dW: dW.w)
        let f0 = sde.drift(t0, z0)
        let g0 = sde.diffusion(t0, z0, drift: f0)
        let y0 = Self.previousState(noise: sde.noise, dt: h, state: y1, drifts: (f0, f1), diffusions: (g0, g1), dW: dW.w)
        return StepResult(state: y0, solverState: [z0, f0, g0], driftEvaluations: 1, diffusionEvaluations: 1)
    }

    /// The first half of ``backwardStep(_:from:to:state:increment:solverState:)``, before the
    /// coefficients at zₙ are evaluated: zₙ = 2yₙ₊₁ − zₙ₊₁ − fₙ₊₁·Δt − gₙ₊₁·ΔW (`dt` = Δt).
    /// Exposed so that an adjoint can evaluate (f, g)(tₙ, zₙ) on its own tape between the halves.
    public static func previousCoupledState(noise: NoiseType, dt h: Float, state y1: Tensor, coupled z1: Tensor,
                                            drift f1: Tensor, diffusion g1: Tensor, dW: Tensor) -> Tensor {
        y1 * 2 - z1 - f1 * h - noise.apply(g1, dW)
    }

    /// The second half of ``backwardStep(_:from:to:state:increment:solverState:)``:
    /// yₙ = yₙ₊₁ − ½(fₙ + fₙ₊₁)·Δt − ½(gₙ + gₙ₊₁)·ΔW, with `drifts` = (fₙ, fₙ₊₁) and
    /// `diffusions` = (gₙ, gₙ₊₁).
    public static func previousState(noise: NoiseType, dt h: Float, state y1: Tensor, drifts: (Tensor, Tensor),
                                     diffusions: (Tensor, Tensor), dW: Tensor) -> Tensor {
        y1 - (drifts.0 + drifts.1) * (h / 2) - noise.apply((diffusions.0 + diffusions.1) * 0.5, dW)
    }
}

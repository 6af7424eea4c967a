import NSDETensor

/// Rößler's SRA1 tableau in W/H form (diffrax `SRA1`): two drift stages a = ¾, b = (⅓, ⅔),
/// stage noise coefficients ¾ on W and 3/2 on H.
private let sra1 = (c: 0.75, a: 0.75, b: (1.0 / 3.0, 2.0 / 3.0), stageW: Float(0.75), stageH: Float(1.5))

/// SRA1, the additive-noise stochastic Runge–Kutta method of strong order 1.5:
/// f₁ = f(t₀, y₀), z = y₀ + ¾Δt·f₁ + g·(¾ΔW + 3/2·H), f₂ = f(t₀ + ¾Δt, z),
/// y₁ = y₀ + Δt·(⅓f₁ + ⅔f₂) + g·ΔW, with g = g(t₀) and H the space-time Lévy area.
///
/// - Calculus: either (with additive noise the Itô and Stratonovich solutions coincide).
/// - Noise: additive only.
/// - Order: strong 1.5 when g does not depend on t (1.0 when it does); weak 2.0.
/// - Cost per step: 2 drift, 1 diffusion evaluations. Brownian input: ΔW and H
///   (``BrownianGrid`` or ``BrownianInterval`` with `levyArea: true`; ``sdeint`` sets it).
/// - Error estimate: ⅔Δt·(f₂ − f₁), the difference from the embedded Euler–Maruyama step.
///
/// Rößler (2010), "Runge–Kutta methods for the strong approximation of solutions of stochastic
/// differential equations", SIAM J. Numer. Anal. 48(3); Foster et al. (2023) for the W/H form.
public struct SRA1: SDESolver {
    public static let name = "SRA1"
    /// The SDE's calculus is accepted as is (additive noise); reported as Itô.
    public var calculus: StochasticCalculus { .ito }
    public static let supportedNoise: Set<NoiseType> = [.additive]
    public static let weakOrder = 2.0
    public static let needsLevyArea = true
    public static func strongOrder(for noise: NoiseType) -> Double { 1.5 }
    /// The embedded estimate ⅔Δt(f₂ − f₁) is of order 1.5.
    public static func errorOrder(for noise: NoiseType) -> Double { 1.5 }

    /// Creates the solver.
    public init() {}

    /// One SRA1 step; requires `dW.h` (precondition; ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` checks it first).
    public func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor,
                     increment dW: BrownianIncrement, solverState: [Tensor]?) -> StepResult {
        guard let hArea = dW.h else { preconditionFailure("SRA1 needs the space-time Lévy area H") }
        let h = t1 - t0
        let f1 = sde.drift(t0, y0)
        let g = sde.diffusion(t0, y0, drift: f1)
        let z = y0 + f1 * Float(sra1.a * h) + sde.noise.apply(g, dW.w * sra1.stageW + hArea * sra1.stageH)
        let f2 = sde.drift(t0 + sra1.c * h, z)
        let y1 = y0 + (f1 * Float(sra1.b.0) + f2 * Float(sra1.b.1)) * Float(h) + sde.noise.apply(g, dW.w)
        let error = (f2 - f1) * Float(2.0 / 3.0 * h)
        return StepResult(state: y1, error: error, driftEvaluations: 2, diffusionEvaluations: 1)
    }
}

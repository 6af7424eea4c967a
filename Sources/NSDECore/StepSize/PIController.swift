import Foundation
import NSDETensor

/// Adaptive step sizes from a proportional–integral (PI) controller on a local error estimate.
///
/// After an attempted step of size h with scaled error norm eₙ (see
/// ``StepSizeController/errorNorm(_:_:_:)``, tolerances ``rtol`` and ``atol``), the step is kept
/// when eₙ ≤ 1 (or when h ≤ ``dtMin``), and the next attempt is
///
///     h · clamp(safety · eₙ^(−(β_P + β_I)/q) · eₙ₋₁^(β_P/q), factorMin, factorMax)
///
/// (the factor is at most 1 after a rejection), clipped to [``dtMin``, ``dtMax``]; q is the order
/// of the error estimate (the solver's strong order + ½). β_P = 0 gives the classical integral
/// controller; the defaults β_P = 0.1, β_I = 0.3 damp the step-size oscillations SDE error
/// estimates cause (Burrage, Herdiana & Burrage 2004; the values diffrax recommends for SDEs).
///
/// The error estimate is the solver's own embedded one (``Heun``, ``SRA1``) or, for solvers
/// without one, step doubling: one step of h against two of h/2 on the same Brownian path; the
/// two half steps are kept.
public struct PIController: StepSizeController, Sendable {
    /// Relative tolerance (> 0).
    public var rtol: Double
    /// Absolute tolerance (> 0), in the state's units.
    public var atol: Double
    /// Proportional coefficient β_P (≥ 0).
    public var pCoefficient: Double
    /// Integral coefficient β_I (> 0).
    public var iCoefficient: Double
    /// Safety factor applied to every proposal (0 < safety ≤ 1).
    public var safety: Double
    /// Smallest step-size factor per decision.
    public var factorMin: Double
    /// Largest step-size factor per decision.
    public var factorMax: Double
    /// Steps at or below this size are accepted whatever their error (model time units; default 0).
    public var dtMin: Double
    /// Largest step (model time units; default ∞).
    public var dtMax: Double
    /// The most attempted steps before giving up.
    public var maxSteps: Int

    /// Creates a PI controller. Defaults: rtol 10⁻³, atol 10⁻⁴ (float32 states), β_P 0.1, β_I 0.3,
    /// safety 0.9, factors in [0.2, 10], no step limits, 100 000 steps.
    public init(rtol: Double = 1e-3, atol: Double = 1e-4, pCoefficient: Double = 0.1, iCoefficient: Double = 0.3,
                safety: Double = 0.9, factorMin: Double = 0.2, factorMax: Double = 10,
                dtMin: Double = 0, dtMax: Double = .infinity, maxSteps: Int = 100_000) {
        self.rtol = rtol
        self.atol = atol
        self.pCoefficient = pCoefficient
        self.iCoefficient = iCoefficient
        self.safety = safety
        self.factorMin = factorMin
        self.factorMax = factorMax
        self.dtMin = dtMin
        self.dtMax = dtMax
        self.maxSteps = maxSteps
    }

    /// `true`.
    public var isAdaptive: Bool { true }

    /// Checks tolerances, coefficients and limits.
    public func validate() throws {
        guard rtol > 0, atol > 0, rtol.isFinite, atol.isFinite else { throw SDEError.invalidTolerance(rtol: rtol, atol: atol) }
        guard pCoefficient >= 0, iCoefficient > 0, safety > 0, safety <= 1, factorMin > 0, factorMin < 1, factorMax > 1,
              dtMin >= 0, dtMax > dtMin, maxSteps > 0 else {
            throw SDEError.invalidController("PIController needs pCoefficient ≥ 0, iCoefficient > 0, 0 < safety ≤ 1, 0 < factorMin < 1 < factorMax, 0 ≤ dtMin < dtMax and maxSteps > 0; got pCoefficient \(pCoefficient), iCoefficient \(iCoefficient), safety \(safety), factorMin \(factorMin), factorMax \(factorMax), dtMin \(dtMin), dtMax \(dtMax), maxSteps \(maxSteps)")
        }
    }

    /// The scaled RMS norm with ``rtol`` and ``atol``.
    public func errorNorm(_ error: Tensor, _ y0: Tensor, _ y1: Tensor) -> Double {
        scaledRMSNorm(error, y0, y1, rtol: rtol, atol: atol)
    }

    /// The PI decision described on the type.
    public func decide(step h: Double, errorNorm e: Double, errorOrder q: Double, previousErrorNorm ePrev: Double) -> StepDecision {
        guard e.isFinite else { return StepDecision(accept: h <= dtMin, nextStep: max(h * factorMin, dtMin)) }
        let accept = e <= 1 || h <= dtMin
        var factor: Double
        if e == 0 {
            factor = factorMax
        } else {
            factor = safety * pow(e, -(pCoefficient + iCoefficient) / q) * pow(max(ePrev, 1e-10), pCoefficient / q)
        }
        factor = min(factorMax, max(factorMin, factor))
        if !accept { factor = min(factor, 1) }
        return StepDecision(accept: accept, nextStep: min(dtMax, max(dtMin, h * factor)))
    }
}

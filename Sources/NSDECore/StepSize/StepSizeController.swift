import Foundation
import NSDETensor

/// Chooses the step sizes of ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)``:
/// fixed steps (``ConstantStepSize``) or steps accepted and rejected on a local error estimate
/// (``PIController``).
///
/// An adaptive controller sees, after each attempted step of size h, the scaled RMS norm of the
/// step's error estimate (≤ 1 means "within tolerance") and returns whether to keep the step and
/// the size of the next attempt. The Brownian path does not depend on these choices: a rejected
/// step is retried on the same path (the ``BrownianInterval`` answers W(s, t) for any s < t).
public protocol StepSizeController {
    /// `true` if steps are accepted or rejected on an error estimate; `false` for fixed steps.
    var isAdaptive: Bool { get }
    /// The most attempted steps (accepted plus rejected) before ``SDEError/tooManySteps(maxSteps:time:)``.
    var maxSteps: Int { get }
    /// Throws ``SDEError/invalidTolerance(rtol:atol:)`` (or another ``SDEError``) for invalid settings.
    func validate() throws
    /// The scaled RMS norm √(mean((eᵢ / (atol + rtol·max(|y₀ᵢ|, |y₁ᵢ|)))²)) of an error estimate `e`.
    func errorNorm(_ error: Tensor, _ y0: Tensor, _ y1: Tensor) -> Double
    /// Decides on an attempted step of size `h` whose error norm is `errorNorm` (∞ or NaN for a
    /// non-finite state). `errorOrder` is the exponent q in "local error ∝ h^q".
    /// `previousErrorNorm` is the error norm of the last accepted step (1 before the first).
    func decide(step h: Double, errorNorm: Double, errorOrder: Double, previousErrorNorm: Double) -> StepDecision
}

/// The outcome of one attempted adaptive step.
public struct StepDecision: Equatable, Sendable {
    /// Whether the step is kept.
    public var accept: Bool
    /// The size of the next attempt (model time units).
    public var nextStep: Double
    /// Creates a decision.
    public init(accept: Bool, nextStep: Double) {
        self.accept = accept
        self.nextStep = nextStep
    }
}

/// Fixed steps of the `dt` given to ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)``
/// (the last step before each output time is shortened to land on it). The default.
public struct ConstantStepSize: StepSizeController, Sendable {
    /// Creates the controller.
    public init() {}
    /// `false`.
    public var isAdaptive: Bool { false }
    /// Unlimited (the number of steps is fixed by the grid).
    public var maxSteps: Int { .max }
    /// Nothing to check.
    public func validate() throws {}
    /// Not used for fixed steps; the RMS norm of the error.
    public func errorNorm(_ error: Tensor, _ y0: Tensor, _ y1: Tensor) -> Double {
        scaledRMSNorm(error, y0, y1, rtol: 0, atol: 1)
    }
    /// Always accepts and keeps the step.
    public func decide(step h: Double, errorNorm: Double, errorOrder: Double, previousErrorNorm: Double) -> StepDecision {
        StepDecision(accept: true, nextStep: h)
    }
}

/// √(mean((eᵢ / (atol + rtol·max(|aᵢ|, |bᵢ|)))²)), accumulated in Double.
func scaledRMSNorm(_ error: Tensor, _ a: Tensor, _ b: Tensor, rtol: Double, atol: Double) -> Double {
    var sum = 0.0
    error.withUnsafeBufferPointer { e in
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for i in 0..<e.count {
                    let scale = atol + rtol * max(Swift.abs(Double(a[i])), Swift.abs(Double(b[i])))
                    let r = Double(e[i]) / scale
                    sum += r * r
                }
            }
        }
    }
    return (sum / Double(max(error.count, 1))).squareRoot()
}

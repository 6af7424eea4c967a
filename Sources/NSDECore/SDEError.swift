/// Errors from ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` and ``odeint(_:y0:times:solver:dt:rtol:atol:maxSteps:)``:
/// invalid grids and settings, unsupported combinations, and blow-ups.
public enum SDEError: Error, CustomStringConvertible, Equatable {
    /// The output time grid is empty.
    case emptyTimes
    /// `times[index]` is not greater than `times[index - 1]`.
    case nonIncreasingTimes(index: Int, previous: Double, next: Double)
    /// A time or step size is not finite or not positive.
    case invalidStepSize(Double)
    /// The solver does not support the SDE's noise type.
    case unsupportedNoise(solver: String, noise: NoiseType, supported: [NoiseType])
    /// The solver converges to the other calculus.
    case calculusMismatch(solver: String, solverCalculus: StochasticCalculus, sdeCalculus: StochasticCalculus)
    /// The solver needs the space-time Lévy area and the Brownian motion does not provide it.
    case levyAreaUnavailable(solver: String)
    /// A tensor from the SDE or the Brownian motion has the wrong shape.
    case shapeMismatch(what: String, expected: [Int], found: [Int])
    /// The state became NaN or infinite after `step` (1-based), at time `time`.
    case nonFiniteState(step: Int, time: Double)
    /// A step end is not a point the Brownian motion can be queried at (e.g. off a fixed grid).
    case brownianQueryUnavailable(time: Double)
    /// A fixed-step method was called without `dt`.
    case missingStepSize(solver: String)
    /// Tolerances must be positive and finite.
    case invalidTolerance(rtol: Double, atol: Double)
    /// The adaptive step size fell below what time can resolve at `time`.
    case stepSizeUnderflow(time: Double)
    /// More than `maxSteps` steps were needed; stopped at `time`.
    case tooManySteps(maxSteps: Int, time: Double)
    /// A step-size controller's settings are invalid (the message names them).
    case invalidController(String)
    /// Adaptive steps need a Brownian motion that can be queried at any time (a ``BrownianInterval``).
    case adaptiveStepsNeedInterval
    /// The gradient method cannot be used with this solver or setting.
    case unsupportedGradient(method: String, reason: String)

    /// A one-line message naming what, where, expected and found.
    public var description: String {
        switch self {
        case .emptyTimes:
            return "The time grid is empty: give at least one time"
        case let .nonIncreasingTimes(index, previous, next):
            return "Times must be strictly increasing: times[\(index)] = \(next) does not exceed times[\(index - 1)] = \(previous)"
        case let .invalidStepSize(dt):
            return "Step size must be positive and finite, got \(dt)"
        case let .unsupportedNoise(solver, noise, supported):
            return "\(solver) does not support \(noise) noise (supported: \(supported.map(\.rawValue).joined(separator: ", ")))"
        case let .calculusMismatch(solver, solverCalculus, sdeCalculus):
            return "\(solver) solves \(solverCalculus) SDEs, but the SDE is \(sdeCalculus)"
        case let .levyAreaUnavailable(solver):
            return "\(solver) needs the space-time Lévy area, which this Brownian motion does not provide (build it with levyArea: true)"
        case let .shapeMismatch(what, expected, found):
            return "\(what) has shape \(found), expected \(expected)"
        case let .nonFiniteState(step, time):
            return "The state became non-finite (NaN or infinity) at step \(step), time \(time)"
        case let .brownianQueryUnavailable(time):
            return "The Brownian motion cannot be queried at time \(time) (off its grid or outside its interval)"
        case let .missingStepSize(solver):
            return "\(solver) takes fixed steps: give dt"
        case let .invalidTolerance(rtol, atol):
            return "Tolerances must be positive and finite, got rtol \(rtol), atol \(atol)"
        case let .stepSizeUnderflow(time):
            return "The adaptive step size underflowed at time \(time)"
        case let .tooManySteps(maxSteps, time):
            return "Exceeded \(maxSteps) steps, stopped at time \(time)"
        case let .invalidController(message):
            return message
        case .adaptiveStepsNeedInterval:
            return "Adaptive steps need a Brownian motion that can be queried at any time: use brownian: .interval(seed:), not a fixed grid"
        case let .unsupportedGradient(method, reason):
            return "The \(method) gradient method cannot be used here: \(reason)"
        }
    }
}

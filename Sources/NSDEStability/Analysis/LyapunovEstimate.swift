import NSDETensor

/// What ``LyapunovEstimator/estimate(_:from:recordPoints:)`` measures: the top Lyapunov exponent
/// with its standard error, the per-sample estimates, and the run's settings.
public struct LyapunovEstimate {
    /// λ̂, the mean over samples and noise draws of (1/(T − transient)) Σ log(growth), per unit
    /// time. Negative: nearby solutions converge (stable); positive: they separate.
    public let lyapunov: Double
    /// Standard error of ``lyapunov``: sample standard deviation / √(``samples``.count); NaN for
    /// a single sample. It covers the spread over images and noise draws, not the O(1/T) and
    /// O(Δt) biases described in ``LyapunovEstimator``.
    public let standardError: Double
    /// λ̂ per (draw, sample), draw-major: `[draws · batch]`.
    public let samples: [Double]
    /// Samples in the batch.
    public let batch: Int
    /// Noise draws used (1 for an SDE without noise).
    public let draws: Int
    /// Solver steps per solution, N.
    public let steps: Int
    /// The step used, T/N (model time units).
    public let dt: Double
    /// The time over which growth was counted, T − transient.
    public let countedTime: Double
    /// Renormalisations at which h̃ − h vanished in float32 (0 in a healthy run; see
    /// ``LyapunovEstimator``).
    public let precisionFloorHits: Int
    /// The times of ``trajectory``.
    public let trajectoryTimes: [Double]
    /// States h_t of the reference solution (first draw) at ``trajectoryTimes``, `[batch, …]` each.
    public let trajectory: [Tensor]

    /// The smallest per-sample estimate (NaN when there are none).
    public var minimum: Double { samples.min() ?? .nan }
    /// The largest per-sample estimate (NaN when there are none).
    public var maximum: Double { samples.max() ?? .nan }

    /// Creates an estimate (normally made by ``LyapunovEstimator/estimate(_:from:recordPoints:)``).
    public init(lyapunov: Double, standardError: Double, samples: [Double], batch: Int, draws: Int, steps: Int, dt: Double,
                countedTime: Double, precisionFloorHits: Int, trajectoryTimes: [Double], trajectory: [Tensor]) {
        self.lyapunov = lyapunov
        self.standardError = standardError
        self.samples = samples
        self.batch = batch
        self.draws = draws
        self.steps = steps
        self.dt = dt
        self.countedTime = countedTime
        self.precisionFloorHits = precisionFloorHits
        self.trajectoryTimes = trajectoryTimes
        self.trajectory = trajectory
    }
}

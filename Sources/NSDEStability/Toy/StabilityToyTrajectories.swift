/// Paths of the Figure 1 toy over time, from ``StabilityToy/trajectories(outputPoints:samplePaths:)``.
///
/// All per-time arrays have one entry per ``times`` element, `[K]`.
public struct StabilityToyTrajectories: Equatable, Sendable {
    /// The configuration simulated (σ, T, paths, steps, seed).
    public let configuration: StabilityToy
    /// Output times from 0 to T, model time units, `[K]`.
    public let times: [Double]
    /// Individual Euler–Maruyama paths x_t, `[samples][K]`; all start at 1.
    public let samplePaths: [[Double]]
    /// Mean of x_t over all paths, `[K]` (the paper's "average over multiple runs"). Its
    /// expectation is eᵗ for every σ, but for large σ the sample mean is dominated by rare paths and
    /// in practice decays, as the typical path does.
    public let meanValue: [Double]
    /// Mean of log|x_t| over all paths (Euler–Maruyama), `[K]`.
    public let meanLogAbs: [Double]
    /// Mean of log x_t = (1 − σ²/2)t + σW_t over the same paths (exact solution), `[K]`.
    public let exactMeanLogAbs: [Double]
    /// Drift evaluations the solver made (one per step).
    public let driftEvaluations: Int

    /// Itô theory E log x_t = (1 − σ²/2)t at each output time, `[K]`.
    public var theoryLogAbs: [Double] { times.map { configuration.theory(at: $0) } }

    /// Creates trajectories (normally made by ``StabilityToy/trajectories(outputPoints:samplePaths:)``).
    public init(configuration: StabilityToy, times: [Double], samplePaths: [[Double]], meanValue: [Double],
                meanLogAbs: [Double], exactMeanLogAbs: [Double], driftEvaluations: Int) {
        self.configuration = configuration
        self.times = times
        self.samplePaths = samplePaths
        self.meanValue = meanValue
        self.meanLogAbs = meanLogAbs
        self.exactMeanLogAbs = exactMeanLogAbs
        self.driftEvaluations = driftEvaluations
    }
}

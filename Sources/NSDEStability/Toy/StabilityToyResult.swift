/// What ``StabilityToy/run()`` measures: E log|x_T| by Euler–Maruyama and by the exact solution on
/// the same Brownian paths, each with its standard error, and the Itô theory.
public struct StabilityToyResult: Equatable, Sendable {
    /// The configuration that produced the result (σ, T, paths, steps, seed).
    public let configuration: StabilityToy
    /// Mean over paths of log|x_T| from Euler–Maruyama.
    public let meanLogAbs: Double
    /// Standard error of ``meanLogAbs`` (sample standard deviation / √paths).
    public let standardError: Double
    /// Mean over the same paths of log x_T = (1 − σ²/2)T + σW_T, the exact solution.
    public let exactMeanLogAbs: Double
    /// Standard error of ``exactMeanLogAbs``.
    public let exactStandardError: Double
    /// Itô theory E log x_T = (1 − σ²/2)T.
    public let theory: Double
    /// Drift evaluations the solver made (one per step).
    public let driftEvaluations: Int

    /// Creates a result (normally made by ``StabilityToy/run()``).
    public init(configuration: StabilityToy, meanLogAbs: Double, standardError: Double, exactMeanLogAbs: Double,
                exactStandardError: Double, theory: Double, driftEvaluations: Int) {
        self.configuration = configuration
        self.meanLogAbs = meanLogAbs
        self.standardError = standardError
        self.exactMeanLogAbs = exactMeanLogAbs
        self.exactStandardError = exactStandardError
        self.theory = theory
        self.driftEvaluations = driftEvaluations
    }
}

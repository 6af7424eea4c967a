import Foundation
import NSDECore
import NSDEPlot
import NSDETensor

/// Reads the paper's stability theory (§3.3) off one SDE: the measured top Lyapunov exponent of
/// its perturbation equation, an empirical Lipschitz constant of its drift near the trajectory,
/// and Theorem 3.2 / Corollary 3.2.1 evaluated with that constant.
///
/// ```swift
/// let sde = NeuralDriftSDE(drift: { _, y in y.matmul(a) }, diffusion: MultiplicativeDiffusion(sigma: 1.5))
/// let analysis = StabilityAnalysis(estimator: LyapunovEstimator(tEnd: 20, dt: 0.01, draws: 4))
/// let result = try analysis.analyse(ScalarNoiseSDE(sde), from: h0, sigma: 1.5, noise: .multiplicativeScalar)
/// print(result.estimate.lyapunov, result.lipschitz?.lipschitz, result.bound?.corollaryConditionHolds)
/// ```
///
/// The Lyapunov exponent is measured (``LyapunovEstimator``); the Lipschitz constant is a lower
/// bound found at ``lipschitzPoints`` states of the first draw's reference solution
/// (``LipschitzEstimator``), evaluated with the drift at each state's time; the bound follows
/// (``StabilityBound``). The two are independent: the bound may fail while λ < 0 (it is only
/// sufficient), and with an underestimated L it may even claim more than λ shows.
public struct StabilityAnalysis: Equatable, Sendable {
    /// The Benettin estimator's settings.
    public var estimator: LyapunovEstimator
    /// The power iteration's settings.
    public var lipschitz: LipschitzEstimator
    /// Trajectory states (evenly spaced over [0, T], both ends included) where the drift's local
    /// Lipschitz constant is estimated; 0 skips the estimate (and the bound). Default 3.
    public var lipschitzPoints: Int

    /// Creates the settings.
    public init(estimator: LyapunovEstimator = LyapunovEstimator(), lipschitz: LipschitzEstimator = LipschitzEstimator(),
                lipschitzPoints: Int = 3) {
        self.estimator = estimator
        self.lipschitz = lipschitz
        self.lipschitzPoints = lipschitzPoints
    }

    /// Measures λ for `sde` from `h0`, estimates L near its trajectory and evaluates the bound.
    ///
    /// - Parameters:
    ///   - sde: the SDE (samples evolve independently).
    ///   - h0: initial states `[batch, …]`.
    ///   - sigma: its noise scale σ, for the bound (per √time).
    ///   - noise: how its noise enters the perturbation equation (``PerturbationNoise``).
    /// - Returns: see ``StabilityResult``.
    /// - Throws: ``StabilityError`` for invalid settings; ``SDEError`` from the solver.
    public func analyse(_ sde: some SDE, from h0: Tensor, sigma: Double, noise: PerturbationNoise) throws -> StabilityResult {
        guard lipschitzPoints >= 0 else {
            throw StabilityError.invalidParameter(name: "lipschitz points", value: "\(lipschitzPoints)", expected: "at least 0")
        }
        let start = Date()
        let estimate = try estimator.estimate(sde, from: h0, recordPoints: lipschitzPoints)
        var lipschitzEstimate: LipschitzEstimate?
        var bound: StabilityBound?
        if lipschitzPoints > 0 {
            let times = estimate.trajectoryTimes
            var norms: [LipschitzEstimate] = []
            for (t, state) in zip(times, estimate.trajectory) {
                norms.append(try lipschitz.estimate({ sde.drift(t, $0) }, at: [state], parameters: sde.parameters))
            }
            let all = norms.flatMap(\.localNorms)
            let oneSided = norms.compactMap(\.oneSided).max()
            let merged = LipschitzEstimate(lipschitz: all.max() ?? .nan, meanLocal: SampleStatistics(all).mean,
                                           oneSided: oneSided, localNorms: all, points: norms.count, iterations: lipschitz.iterations)
            lipschitzEstimate = merged
            bound = StabilityBound(noise: noise, sigma: sigma, lipschitz: merged.lipschitz, oneSidedLipschitz: merged.oneSided,
                                   stateSize: h0.count / Swift.max(h0.shape.first ?? 1, 1))
        }
        return StabilityResult(sigma: sigma, noise: noise, estimate: estimate, lipschitz: lipschitzEstimate, bound: bound,
                               seconds: Date().timeIntervalSince(start))
    }
}

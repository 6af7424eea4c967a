import Foundation
import XCTest
import NSDECore
import NSDETensor
@testable import NSDEStability

/// Benettin's estimator (``LyapunovEstimator``) on linear SDEs dh = A h dt + σ h dB with known
/// top exponents.
final class StabilityBenettinTests: XCTestCase {
    /// dh = A h dt with h `[batch, d]` as rows: f(h) = h·Aᵀ, so each sample sees A.
    static func linearSDE<D: Diffusion>(_ a: [[Float]], _ diffusion: D) -> NeuralDriftSDE<D> {
        let d = a.count
        let transposed = Tensor(shape: [d, d], scalars: (0..<d).flatMap { j in (0..<d).map { i in a[i][j] } })
        return NeuralDriftSDE(drift: { _, y in y.matmul(transposed) }, diffusion: diffusion)
    }

    static func states(_ batch: Int, _ d: Int, seed: UInt64 = 42) -> Tensor {
        Tensor.randomNormal([batch, d], seed: seed)
    }

    /// Diagonal A = diag(0.3, −1.5, −2.5) with diagonal multiplicative noise σ = 1: the
    /// coordinates decouple, so the top exponent is max aᵢ − σ²/2 = −0.2 (continuous); the
    /// Euler–Maruyama map's is E log|1 + 0.3Δt + σΔW|/Δt (−0.2033 at Δt = 0.01). Tolerance: 4
    /// standard errors over 64 samples × 4 draws, plus 0.02 for the O(1/T) alignment bias.
    func testDiagonalDriftTopExponentIsLargestRateMinusHalfSigmaSquared() throws {
        let sde = Self.linearSDE([[0.3, 0, 0], [0, -1.5, 0], [0, 0, -2.5]], MultiplicativeDiffusion(sigma: 1))
        let estimator = LyapunovEstimator(tEnd: 20, dt: 0.01, transient: 2, draws: 4, seed: 5)
        let r = try estimator.estimate(sde, from: Self.states(64, 3))
        let discrete = ToyLyapunov.eulerMaruyamaExponent(drift: 0.3, sigma: 1, dt: 0.01)
        XCTAssertEqual(r.samples.count, 256)
        XCTAssertEqual(r.lyapunov, discrete, accuracy: 4 * r.standardError + 0.02)
        XCTAssertEqual(r.lyapunov, 0.3 - 0.5, accuracy: 0.1)
        XCTAssertEqual(r.countedTime, 18, accuracy: 1e-9)
        XCTAssertEqual(r.precisionFloorHits, 0)
    }

    /// A = a·I with one Brownian motion per sample (``ScalarNoiseSDE``): ε_t keeps its direction
    /// and grows by exactly the scalar factors 1 + aΔt + σΔWₖ, so each sample's estimate equals
    /// (1/T) Σₖ log|1 + aΔt + σΔWₖ| computed here in Double from the same grid (float32 states
    /// round ε by about 6·10⁻⁵ relative per step: tolerance 2·10⁻³).
    func testScalarNoiseIdentityDriftMatchesTheScalarFactors() throws {
        let a: Float = 0.4, sigma: Float = 1.2, dt = 0.02, tEnd = 4.0
        let sde = ScalarNoiseSDE(Self.linearSDE([[a, 0, 0, 0], [0, a, 0, 0], [0, 0, a, 0], [0, 0, 0, a]], MultiplicativeDiffusion(sigma: sigma)))
        let estimator = LyapunovEstimator(tEnd: tEnd, dt: dt, renormalizeEvery: 3, draws: 1, seed: 11)
        let y0 = Self.states(8, 4)
        let r = try estimator.estimate(sde, from: y0)
        let grid = BrownianGrid(shape: [8, 1], dt: dt, seed: 11, stream: 0)
        var expected = [Double](repeating: 0, count: 8)
        for k in 0..<estimator.stepCount {
            let w = grid.stepIncrement(k).scalars
            for i in 0..<8 { expected[i] += log(abs(1 + Double(a) * dt + Double(sigma) * Double(w[i]))) }
        }
        for i in 0..<8 { XCTAssertEqual(r.samples[i], expected[i] / tEnd, accuracy: 2e-3, "sample \(i)") }
    }

    /// A non-normal drift A = [[0.2, 3], [0, −1]] with scalar multiplicative noise σ = 1.5: the
    /// noise matrix σI commutes with A, so λ = max eig(A) − σ²/2 = −0.925 (Euler–Maruyama map:
    /// E log|1 + 0.2Δt + σΔW|/Δt). Stable, although Corollary 3.2.1's condition σ² > 2L fails:
    /// L = ‖A‖₂ = 3.17, so 2L = 6.34 > σ² = 2.25, and even the one-sided bound μ − σ²/2 = 0.09 is
    /// positive. The sufficient condition says nothing here; the measurement shows stability.
    func testCorollaryConditionFailsWhileTheExponentIsNegative() throws {
        let sde = ScalarNoiseSDE(Self.linearSDE([[0.2, 3], [0, -1]], MultiplicativeDiffusion(sigma: 1.5)))
        let analysis = StabilityAnalysis(estimator: LyapunovEstimator(tEnd: 20, dt: 0.01, transient: 3, draws: 4, seed: 3),
                                         lipschitz: LipschitzEstimator(iterations: 30), lipschitzPoints: 2)
        let r = try analysis.analyse(sde, from: Self.states(32, 2), sigma: 1.5, noise: .multiplicativeScalar)
        let discrete = ToyLyapunov.eulerMaruyamaExponent(drift: 0.2, sigma: 1.5, dt: 0.01)
        XCTAssertEqual(r.estimate.lyapunov, discrete, accuracy: 4 * r.estimate.standardError + 0.02)
        XCTAssertTrue(r.isStable)
        XCTAssertTrue(r.isStableBeyondTwoStandardErrors)
        let spectralNorm = StabilityLipschitzTests.spectralNorm2x2(0.2, 3, -1)
        XCTAssertEqual(r.lipschitz!.lipschitz, spectralNorm, accuracy: 1e-3 * spectralNorm)
        XCTAssertEqual(r.lipschitz!.oneSided!, -0.4 + (0.36 + 2.25).squareRoot(), accuracy: 1e-2)
        let bound = try XCTUnwrap(r.bound)
        XCTAssertTrue(bound.corollaryApplies)
        XCTAssertFalse(bound.corollaryConditionHolds)
        XCTAssertEqual(bound.bound!, spectralNorm - 1.125, accuracy: 1e-2)
        XCTAssertGreaterThan(bound.oneSidedBound!, 0)
        XCTAssertEqual(r.isWithinBound, true)
    }

    /// The ODE (σ = 0): one draw whatever ``LyapunovEstimator/draws`` says, zero spread, and the
    /// exponent of Euler's map for diag(0.5, −3): log(1 + 0.5Δt)/Δt (the second direction is
    /// e⁻⁷ smaller after the transient).
    func testODEUsesOneDrawAndGivesEulersExponent() throws {
        let sde = Self.linearSDE([[0.5, 0], [0, -3]], NoDiffusion())
        let r = try LyapunovEstimator(tEnd: 10, dt: 0.05, transient: 2, draws: 3).estimate(sde, from: Self.states(4, 2))
        XCTAssertEqual(r.draws, 1)
        XCTAssertEqual(r.samples.count, 4)
        for s in r.samples { XCTAssertEqual(s, log(1.025) / 0.05, accuracy: 1e-3) }
    }

    /// For linear dynamics the estimate depends neither on how often ε is renormalised nor on its
    /// size, up to float32 rounding of h̃ − h (about 6·10⁻⁸/δ relative per step: δ = 0.05 makes it
    /// negligible; δ = 10⁻³ leaves about 10⁻³ here). It is bit-identical for the same seed and
    /// differs for another.
    func testRenormalizationAndSeeds() throws {
        let sde = Self.linearSDE([[0.1, 1], [-1, 0.1]], MultiplicativeDiffusion(sigma: 0.8))
        let y0 = Self.states(6, 2)
        let base = LyapunovEstimator(tEnd: 3, dt: 0.01, renormalizeEvery: 1, perturbation: 0.05, draws: 2, seed: 1)
        var sparse = base
        sparse.renormalizeEvery = 10
        var small = base
        small.perturbation = 1e-3
        let a = try base.estimate(sde, from: y0), b = try sparse.estimate(sde, from: y0), c = try small.estimate(sde, from: y0)
        for (x, y) in zip(a.samples, b.samples) { XCTAssertEqual(x, y, accuracy: 1e-4) }
        for (x, y) in zip(a.samples, c.samples) { XCTAssertEqual(x, y, accuracy: 5e-3) }
        XCTAssertEqual(try base.estimate(sde, from: y0).samples, a.samples)
        var other = base
        other.seed = 2
        XCTAssertNotEqual(try other.estimate(sde, from: y0).samples, a.samples)
    }

    /// Recorded trajectory points: evenly spaced from t = 0 to T, the first equal to h₀.
    func testRecordsTrajectoryStates() throws {
        let sde = Self.linearSDE([[-1, 0], [0, -1]], NoDiffusion())
        let y0 = Self.states(2, 2)
        let r = try LyapunovEstimator(tEnd: 1, dt: 0.1).estimate(sde, from: y0, recordPoints: 3)
        XCTAssertEqual(r.trajectoryTimes.count, 3)
        for (t, e) in zip(r.trajectoryTimes, [0, 0.5, 1.0]) { XCTAssertEqual(t, e, accuracy: 1e-12) }
        XCTAssertEqual(r.trajectory[0].scalars, y0.scalars)
        XCTAssertEqual(r.trajectory[2].scalars[0], y0.scalars[0] * pow(0.9, 10), accuracy: 1e-5)
    }

    /// Invalid settings and solvers that carry state throw, naming the setting.
    func testInvalidSettingsThrow() {
        let sde = Self.linearSDE([[1]], NoDiffusion())
        let y0 = Self.states(2, 1)
        func message(_ e: LyapunovEstimator) -> String {
            do { _ = try e.estimate(sde, from: y0); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(LyapunovEstimator(solver: .reversibleHeun)).contains("invalid solver"))
        XCTAssertEqual(message(LyapunovEstimator(tEnd: 1, dt: 0.1, transient: 1)),
                       "invalid transient: expected a time in [0, T) leaving at least one step (T = 1.0), got 1.0")
        XCTAssertEqual(message(LyapunovEstimator(perturbation: 0.5)), "invalid perturbation: expected a relative size in (0, 0.1], got 0.5")
        // Heun converges to Stratonovich: the Itô SDE with multiplicative noise is refused, as sdeint does.
        let ito = Self.linearSDE([[1]], MultiplicativeDiffusion(sigma: 1))
        XCTAssertThrowsError(try LyapunovEstimator(solver: .heun).estimate(ito, from: y0)) { error in
            XCTAssertTrue("\(error)".contains("Heun solves"), "\(error)")
        }
    }
}

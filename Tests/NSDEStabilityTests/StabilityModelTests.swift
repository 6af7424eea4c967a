import Foundation
import XCTest
import NSDECore
import NSDEModels
import NSDENN
import NSDETensor
@testable import NSDEStability

/// ``PaperBlockStability``: the analysis of a classifier's SDE block for several σ.
final class StabilityModelTests: XCTestCase {
    /// A tiny block (4 channels, 6x6) so the test is fast.
    static func tinyModel() -> (PaperClassifier, Tensor) {
        Initializer.manualSeed(1)
        let net = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 3, width: 4)
        return (net, Tensor.randomUniform([2, 1, 8, 8], seed: 2))
    }

    static func study(_ sigmas: [Float], noise: BlockNoise = .multiplicative, shape: PaperBlockStability.NoiseShape = .diagonal,
                      time: PaperBlockStability.DriftTime = .frozen(0.5)) -> PaperBlockStability {
        PaperBlockStability(sigmas: sigmas, noise: noise, noiseShape: shape, driftTime: time,
                            analysis: StabilityAnalysis(estimator: LyapunovEstimator(tEnd: 2, dt: 0.1, transient: 0.5, draws: 2, seed: 4),
                                                        lipschitz: LipschitzEstimator(iterations: 4), lipschitzPoints: 2))
    }

    /// One finite result per σ, in order, with the perturbation noise each σ implies; σ = 0 uses one
    /// draw; the state size of the diagonal bound is C·H·W; runs are reproducible.
    func testOneResultPerSigmaWithTheRightNoise() throws {
        let (net, images) = Self.tinyModel()
        let study = Self.study([0, 1.5])
        let results = try study.run(model: net, images: images)
        XCTAssertEqual(results.map(\.sigma), [0, 1.5])
        XCTAssertEqual(results.map(\.noise), [.none, .multiplicativeDiagonal])
        XCTAssertEqual(results[0].estimate.draws, 1)
        XCTAssertEqual(results[1].estimate.draws, 2)
        for r in results {
            XCTAssertTrue(r.estimate.lyapunov.isFinite)
            XCTAssertTrue(r.lipschitz!.lipschitz.isFinite && r.lipschitz!.lipschitz > 0)
            XCTAssertEqual(r.bound!.stateSize, 4 * 6 * 6)
            XCTAssertFalse(r.bound!.corollaryApplies)
        }
        let again = try study.run(model: net, images: images)
        XCTAssertEqual(again.map(\.estimate.samples), results.map(\.estimate.samples))
    }

    /// Scalar multiplicative noise is the corollary's setting; additive noise cancels in ε, so at
    /// the same drift its σ only moves the trajectory; running and frozen time differ.
    func testNoiseShapeAndDriftTimeChoices() throws {
        let (net, images) = Self.tinyModel()
        let scalar = try Self.study([1], shape: .scalar).run(model: net, images: images)[0]
        XCTAssertEqual(scalar.noise, .multiplicativeScalar)
        XCTAssertTrue(scalar.bound!.corollaryApplies)
        XCTAssertEqual(scalar.bound!.bound!, scalar.lipschitz!.lipschitz - 0.5, accuracy: 1e-12)
        XCTAssertEqual(Self.study([1], noise: .additive).perturbationNoise(sigma: 1), .additive)
        XCTAssertEqual(Self.study([1], noise: .dropout).perturbationNoise(sigma: 1), .dropout)
        XCTAssertEqual(Self.study([1], noise: .ode).perturbationNoise(sigma: 1), .none)
        let frozen = try Self.study([0]).run(model: net, images: images)[0]
        let running = try Self.study([0], time: .running).run(model: net, images: images)[0]
        XCTAssertNotEqual(frozen.estimate.lyapunov, running.estimate.lyapunov)
    }

    /// Invalid studies throw before any work, naming the setting.
    func testInvalidStudiesThrow() {
        let (net, images) = Self.tinyModel()
        XCTAssertThrowsError(try Self.study([]).run(model: net, images: images)) { XCTAssertTrue("\($0)".contains("sigmas"), "\($0)") }
        XCTAssertThrowsError(try Self.study([1], noise: .learned).run(model: net, images: images)) {
            XCTAssertTrue("\($0)".contains("learned diffusion network"), "\($0)")
        }
    }
}

import Foundation
import XCTest
import NSDECore
import NSDEModels
import NSDENN
import NSDETensor
@testable import NSDEStability

/// The empirical Lipschitz constant (``LipschitzEstimator``) and the stability bounds
/// (``StabilityBound``).
final class StabilityLipschitzTests: XCTestCase {
    /// ‖[[a, b], [0, c]]‖₂ in closed form: σ²_max = (s + √(s² − 4a²c²))/2, s = a² + b² + c².
    static func spectralNorm2x2(_ a: Double, _ b: Double, _ c: Double) -> Double {
        let s = a * a + b * b + c * c
        return ((s + (s * s - 4 * a * a * c * c).squareRoot()) / 2).squareRoot()
    }

    /// ‖A‖₂ by 500 power iterations on AᵀA in Double (an independent reference).
    static func spectralNorm(_ a: [[Double]]) -> Double {
        let n = a.count
        var v = [Double](repeating: 1, count: n)
        var norm = 0.0
        for _ in 0..<500 {
            let av = (0..<n).map { i in (0..<n).reduce(0) { $0 + a[i][$1] * v[$1] } }
            let atav = (0..<n).map { j in (0..<n).reduce(0) { $0 + a[$1][j] * av[$1] } }
            let m = atav.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = atav.map { $0 / m }
            norm = m.squareRoot()
        }
        return norm
    }

    /// f(h) = h·Aᵀ on rows, i.e. Jacobian A per sample.
    static func linear(_ a: [[Double]]) -> (Tensor) -> Tensor {
        let n = a.count
        let t = Tensor(shape: [n, n], scalars: (0..<n).flatMap { j in (0..<n).map { i in Float(a[i][j]) } })
        return { $0.matmul(t) }
    }

    /// For a linear drift the empirical Lipschitz constant is the spectral norm ‖A‖₂ (within 5 %;
    /// in practice 10⁻³), at any point, and the one-sided constant is λ_max((A + Aᵀ)/2).
    func testLinearDriftLipschitzEqualsSpectralNorm() throws {
        let upper: [[Double]] = [[0.2, 3], [0, -1]]
        let r = try LipschitzEstimator(iterations: 30).estimate(Self.linear(upper), at: [Tensor.randomNormal([3, 2], seed: 1)])
        XCTAssertEqual(r.lipschitz, Self.spectralNorm2x2(0.2, 3, -1), accuracy: 0.05 * Self.spectralNorm2x2(0.2, 3, -1))
        XCTAssertEqual(r.lipschitz, Self.spectralNorm2x2(0.2, 3, -1), accuracy: 1e-3)
        XCTAssertEqual(r.oneSided!, -0.4 + 2.61.squareRoot(), accuracy: 1e-2)
        XCTAssertEqual(r.localNorms.count, 3)

        // A random 6x6 matrix against Double power iteration.
        let values = Tensor.randomNormal([36], seed: 7).scalars.map(Double.init)
        let a = (0..<6).map { i in (0..<6).map { j in values[6 * i + j] } }
        let reference = Self.spectralNorm(a)
        let points = [Tensor.randomNormal([2, 6], seed: 2), Tensor.randomNormal([5, 6], seed: 3)]
        let e = try LipschitzEstimator(iterations: 40, oneSided: false).estimate(Self.linear(a), at: points)
        XCTAssertEqual(e.lipschitz, reference, accuracy: 0.05 * reference)
        XCTAssertEqual(e.meanLocal, reference, accuracy: 0.05 * reference)
        XCTAssertNil(e.oneSided)
        XCTAssertEqual(e.points, 2)
    }

    /// Every local estimate is a lower bound (up to float32 rounding) of ‖A‖₂, even after one
    /// iteration, and the one-sided constant never exceeds the norm.
    func testEstimatesAreLowerBounds() throws {
        let a: [[Double]] = [[1, 2, 0], [0, -1, 4], [0.5, 0, 0.3]]
        let norm = Self.spectralNorm(a)
        for iterations in [1, 3, 10] {
            let r = try LipschitzEstimator(iterations: iterations, seed: UInt64(iterations)).estimate(Self.linear(a), at: [Tensor.randomNormal([4, 3], seed: 9)])
            for local in r.localNorms { XCTAssertLessThanOrEqual(local, norm * (1 + 1e-5)) }
            XCTAssertLessThanOrEqual(r.oneSided!, r.lipschitz * (1 + 1e-5))
        }
    }

    /// Reverse mode leaves the drift's parameter gradients as they were (here: none, and a
    /// pre-set gradient).
    func testParameterGradientsAreRestored() throws {
        let layer = Linear(3, 3)
        let before = layer.weight.grad
        _ = try LipschitzEstimator(iterations: 3).estimate({ layer($0) }, at: [Tensor.randomNormal([2, 3], seed: 1)], parameters: layer.parameters)
        XCTAssertNil(before)
        XCTAssertNil(layer.weight.grad)
        // With an existing gradient.
        let x = Tensor.randomNormal([2, 3], seed: 4)
        layer(x).sum().backward()
        let saved = try XCTUnwrap(layer.weight.grad).scalars
        _ = try LipschitzEstimator(iterations: 3).estimate({ layer($0) }, at: [x], parameters: layer.parameters)
        XCTAssertEqual(layer.weight.grad?.scalars, saved)
    }

    /// On the paper's convolutional drift (GroupNorm, ReLU, 3x3 convolutions), the estimate is
    /// consistent with finite differences: no secant ‖f(h + τv) − f(h)‖/τ along a random unit v
    /// exceeds it by more than 5 % (it is the top of the local Jacobian's spectrum), and it is
    /// positive and finite.
    func testConvolutionalDriftEstimateBoundsSecants() throws {
        Initializer.manualSeed(3)
        let drift = ConvDrift(channels: 4)
        let h = Tensor.randomNormal([2, 4, 6, 6], seed: 5)
        let f: (Tensor) -> Tensor = { x in noGrad { drift(0.5, x) } }
        let r = try LipschitzEstimator(iterations: 25).estimate({ drift(0.5, $0) }, at: [h], parameters: drift.parameters)
        XCTAssertTrue(r.lipschitz.isFinite && r.lipschitz > 0)
        XCTAssertLessThanOrEqual(r.oneSided!, r.lipschitz * 1.0001)
        let fh = f(h)
        for k in 0..<8 {
            let v = Tensor.randomNormal(h.shape, seed: 100 + UInt64(k))
            let norms = LyapunovEstimator.sampleNorms(v)
            let unit = v * LyapunovEstimator.perSample(norms.map { Float(1 / $0) }, rank: 4)
            let tau: Float = 1e-2
            let secants = LyapunovEstimator.sampleNorms(f(h + unit * tau) - fh).map { $0 / Double(tau) }
            for s in secants { XCTAssertLessThanOrEqual(s, 1.05 * r.lipschitz) }
        }
    }

    // MARK: - Theorem 3.2 bounds

    /// The table of ``StabilityBound``: which noise the corollary covers and each bound.
    func testBoundsFollowTheorem32WithSquaredNorm() {
        let scalar = StabilityBound(noise: .multiplicativeScalar, sigma: 2, lipschitz: 1.5, oneSidedLipschitz: 0.5, stateSize: 100)
        XCTAssertTrue(scalar.corollaryApplies)
        XCTAssertTrue(scalar.corollaryConditionHolds)          // 4 > 3
        XCTAssertEqual(scalar.bound!, 1.5 - 2, accuracy: 1e-12)
        XCTAssertEqual(scalar.oneSidedBound!, 0.5 - 2, accuracy: 1e-12)

        let diagonal = StabilityBound(noise: .multiplicativeDiagonal, sigma: 2, lipschitz: 1.5, stateSize: 100)
        XCTAssertFalse(diagonal.corollaryApplies)
        XCTAssertTrue(diagonal.corollaryConditionHolds)        // the inequality, not its applicability
        XCTAssertEqual(diagonal.bound!, 1.5 + 4 * (0.5 - 0.01), accuracy: 1e-12)
        XCTAssertEqual(StabilityBound(noise: .multiplicativeDiagonal, sigma: 2, lipschitz: 1.5, stateSize: 1).bound!, 1.5 - 2, accuracy: 1e-12)

        XCTAssertEqual(StabilityBound(noise: .additive, sigma: 3, lipschitz: 1.5, stateSize: 10).bound, 1.5)
        XCTAssertEqual(StabilityBound(noise: .none, sigma: 0, lipschitz: 1.5, stateSize: 10).bound, 1.5)
        XCTAssertEqual(StabilityBound(noise: .dropout, sigma: 1, lipschitz: 2, stateSize: 10).bound!, 2 + 2, accuracy: 1e-12)
        XCTAssertNil(StabilityBound(noise: .learned, sigma: 1, lipschitz: 2, stateSize: 10).bound)
        XCTAssertFalse(StabilityBound(noise: .multiplicativeScalar, sigma: 0, lipschitz: 0, stateSize: 10).corollaryApplies)
        XCTAssertTrue(diagonal.note.contains("does not apply"))
    }
}

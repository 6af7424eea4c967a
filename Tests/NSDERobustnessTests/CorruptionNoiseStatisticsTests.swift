import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// The noise corruptions' statistics match their parameters, on mid-grey images where nothing
/// clips: 3 images of 64x64x3 = 36,864 values per severity.
final class CorruptionNoiseStatisticsTests: XCTestCase {
    let grey = CorruptionTestImages.constant(128, height: 64, width: 64)

    /// (out − in)/255 over 3 images corrupted with seed 11.
    func differences(_ corruption: any Corruption, severity: Int) -> [Double] {
        (0 ..< 3).flatMap { k in
            corruption.apply(grey, severity: severity, seed: 11, index: k).pixels.map { (Double($0) - 128) / 255 }
        }
    }

    func meanAndVariance(_ x: [Double]) -> (Double, Double) {
        let mean = x.reduce(0, +) / Double(x.count)
        return (mean, x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count - 1))
    }

    /// std(out − in) ≈ c: truncation to 8 bits adds 1/12 of a level² of variance and shifts the
    /// mean by −0.5 level. Tolerance 3 %: the standard error of a standard deviation from 36,864
    /// values is 0.37 %.
    func testGaussianNoiseStandardDeviationIsC() {
        for severity in 1 ... 5 {
            let c = GaussianNoise.parameters[severity - 1]
            let (mean, variance) = meanAndVariance(differences(GaussianNoise(), severity: severity))
            let expected = (c * c + 1.0 / 12 / (255 * 255)).squareRoot()
            XCTAssertEqual(variance.squareRoot(), expected, accuracy: 0.03 * expected, "severity \(severity)")
            XCTAssertEqual(mean, -0.5 / 255, accuracy: 4 * expected / Double(36_864).squareRoot(), "severity \(severity)")
        }
    }

    /// Poisson(c·x)/c has mean x and variance x/c (x = 128/255 here). Tolerance 5 % on the
    /// variance (standard error 0.8 %); on the mean 4 standard errors plus 0.1 level for the
    /// truncation's bias, which is only about −0.5 level when 255/c is not an integer.
    func testShotNoiseHasPoissonMeanAndVariance() {
        let x = 128.0 / 255
        for severity in 1 ... 5 {
            let c = ShotNoise.parameters[severity - 1]
            let d = differences(ShotNoise(), severity: severity)
            let (mean, variance) = meanAndVariance(d)
            let expected = x / c + 1.0 / 12 / (255 * 255)
            XCTAssertEqual(variance, expected, accuracy: 0.05 * expected, "severity \(severity)")
            XCTAssertEqual(mean + x, x - 0.5 / 255, accuracy: 4 * (expected / Double(d.count)).squareRoot() + 0.1 / 255, "severity \(severity)")
        }
    }

    /// The fraction of values set to 0 or 255 is the amount, half of each. Tolerance: 4 binomial
    /// standard deviations.
    func testImpulseNoiseReplacesTheAmountHalfSaltHalfPepper() {
        for severity in 1 ... 5 {
            let amount = ImpulseNoise.parameters[severity - 1]
            let values = (0 ..< 3).flatMap { ImpulseNoise().apply(grey, severity: severity, seed: 11, index: $0).pixels }
            let n = Double(values.count)
            let salt = Double(values.filter { $0 == 255 }.count), pepper = Double(values.filter { $0 == 0 }.count)
            XCTAssertEqual(Double(values.filter { $0 != 0 && $0 != 255 && $0 != 128 }.count), 0)
            let sd = (amount * (1 - amount) / n).squareRoot()
            XCTAssertEqual((salt + pepper) / n, amount, accuracy: 4 * sd, "severity \(severity)")
            XCTAssertEqual(salt / n, amount / 2, accuracy: 4 * (amount / 2 / n).squareRoot(), "severity \(severity)")
            XCTAssertEqual(pepper / n, amount / 2, accuracy: 4 * (amount / 2 / n).squareRoot(), "severity \(severity)")
        }
    }

    /// The Poisson sampler itself, on both of its methods (λ < 10: multiplication; λ ≥ 10: PTRS):
    /// mean and variance λ within 4 standard errors (variance: 5 %).
    func testPoissonSamplerMoments() {
        for lambda in [0.3, 3.0, 9.9, 10.0, 37.5, 250.0] {
            var rng = PhiloxGenerator(seed: 3, stream: 1)
            let n = 40_000
            let draws = (0 ..< n).map { _ in Double(rng.poisson(lambda)) }
            let (mean, variance) = meanAndVariance(draws)
            XCTAssertEqual(mean, lambda, accuracy: 4 * (lambda / Double(n)).squareRoot(), "λ = \(lambda)")
            XCTAssertEqual(variance, lambda, accuracy: 0.05 * lambda, "λ = \(lambda)")
            XCTAssertTrue(draws.allSatisfy { $0 >= 0 && $0 == $0.rounded() })
        }
        var rng = PhiloxGenerator(seed: 3)
        XCTAssertEqual(rng.poisson(0), 0)
    }
}

import NSDEModels
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// ``HiddenStatePerturbation`` (the paper's Figure 4): r(0) is the stem's relative distance, an
/// ODE needs one draw, the grid has 51 points, and the model's settings come back.
final class PerturbHiddenStateTests: XCTestCase {
    /// Clean synthetic images and a fixed small perturbation of them, clamped to [0, 1].
    static func pair(_ n: Int = 5) -> (clean: Tensor, adversarial: Tensor) {
        let (clean, _) = SyntheticImages.dataset(count: n, seed: 4).batch(indices: Array(0..<n))
        let noise = Tensor.randomNormal(clean.shape, std: 0.05, seed: 12)
        return (clean, (clean + noise).clamped(min: 0, max: 1))
    }

    /// r(0) = mean over images of ‖stem(x_adv) − stem(x)‖ / ‖stem(x)‖ (h₀ is the stem's output;
    /// 1e-5 relative: the mean over M draws of h₀ is M equal floats summed and scaled).
    func testRelativeDistanceAtTimeZeroIsTheStemDistance() throws {
        let model = AttackPGDTests.sdeModel()
        let (clean, adversarial) = Self.pair()
        let result = try HiddenStatePerturbation(draws: 3, batchSize: 2, seed: 1).measure(model, clean: clean, adversarial: adversarial)
        let a = noGrad { model.embed(clean) }.scalars, b = noGrad { model.embed(adversarial) }.scalars
        let per = a.count / 5
        let expected = (0..<5).map { i -> Double in
            let range = i * per..<(i + 1) * per
            let d = range.reduce(0.0) { $0 + Double(b[$1] - a[$1]) * Double(b[$1] - a[$1]) }
            let r = range.reduce(0.0) { $0 + Double(a[$1]) * Double(a[$1]) }
            return (d / r).squareRoot()
        }.reduce(0, +) / 5
        XCTAssertEqual(result.meanRelativeDistance[0], expected, accuracy: 1e-5 * expected)
        XCTAssertEqual(result.draws, 3)
        XCTAssertEqual(result.times.count, 51)
        XCTAssertEqual(result.times[1], 0.02, accuracy: 1e-12)
        XCTAssertEqual(result.times.last, 1)
        XCTAssertTrue(result.meanRelativeDistance.allSatisfy { $0.isFinite && $0 > 0 })
        XCTAssertTrue(result.stdRelativeDistance.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    /// An ODE block draws no noise: M = 5 draws give bit-for-bit the result of one draw.
    func testODEModelWithManyDrawsEqualsOneDraw() throws {
        let model = AttackPGDTests.sdeModel(noise: .ode)
        let (clean, adversarial) = Self.pair(3)
        let many = try HiddenStatePerturbation(draws: 5).measure(model, clean: clean, adversarial: adversarial)
        let one = try HiddenStatePerturbation(draws: 1).measure(model, clean: clean, adversarial: adversarial)
        XCTAssertEqual(many, one)
        XCTAssertEqual(many.draws, 1)
    }

    /// The model's steps, mode, σ, seed and counter are restored; same seed, same result.
    func testModelIsRestoredAndRunsAreReproducible() throws {
        let model = AttackPGDTests.sdeModel()
        model.noiseCounter = 11
        let (clean, adversarial) = Self.pair(2)
        let analysis = HiddenStatePerturbation(draws: 2, seed: 4)
        let a = try analysis.measure(model, clean: clean, adversarial: adversarial)
        XCTAssertEqual(try analysis.measure(model, clean: clean, adversarial: adversarial), a)
        XCTAssertEqual(model.steps, 2)
        XCTAssertEqual(model.noiseCounter, 11)
        XCTAssertEqual(model.noiseSeed, 9)
        XCTAssertFalse(model.isTraining)
        XCTAssertThrowsError(try HiddenStatePerturbation(draws: 0).measure(model, clean: clean, adversarial: adversarial))
        XCTAssertThrowsError(try analysis.measure(model, clean: clean, adversarial: clean.rows(0..<1)))
    }

    /// The CSV has a header and 51 rows per model.
    func testCSVHas51RowsPerModel() throws {
        let (clean, adversarial) = Self.pair(2)
        let noisy = try HiddenStatePerturbation(draws: 2).measure(AttackPGDTests.sdeModel(), clean: clean, adversarial: adversarial)
        let ode = try HiddenStatePerturbation().measure(AttackPGDTests.sdeModel(noise: .ode), clean: clean, adversarial: adversarial)
        let figure = HiddenStatePerturbationFigure(curves: [.init(name: "additive", result: noisy), .init(name: "ode", result: ode)],
                                                   epsilon: 0.1)
        let lines = figure.csv().split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 2 * 51)
        XCTAssertEqual(lines.filter { $0.hasPrefix("ode,") }.count, 51)
        XCTAssertEqual(figure.plot().series.count, 2)
    }
}

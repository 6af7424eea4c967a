import NSDEData
import NSDEModels
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDETraining
@testable import NSDERobustness

/// ``PGD``: the ε-ball and the [0, 1] box hold, the attack reaches the closed-form worst case of a
/// linear model, EOT collapses to one pass without noise, and runs are reproducible.
final class AttackPGDTests: XCTestCase {
    /// 16 pixels of 0.5 (a 1x4x4 image), away from the [0, 1] box for ε ≤ 1.
    static func centred(_ n: Int) -> Tensor { Tensor(repeating: 0.5, shape: [n, 1, 4, 4]) }

    /// A 2-class linear model with w drawn from N(0, 1), margin 0.3 at the centred image.
    static func linearModel(seed: UInt64 = 5, equalMagnitude: Bool = false) -> (AttackLinearClassifier, [Float]) {
        var w = Tensor.randomNormal([16], seed: seed).scalars
        if equalMagnitude { w = w.map { $0 >= 0 ? 0.5 : -0.5 } }
        return (AttackLinearClassifier.twoClass(w: w, pixel: 0.5, margin: 0.3), w)
    }

    static func l2(_ w: [Float]) -> Float { w.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// A tiny SDE classifier on 8x8 grey images with additive noise at test time.
    static func sdeModel(noise: BlockNoise = .additive) -> PaperClassifier {
        let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 2, width: 4, noise: noise,
                                    sigma: noise == .ode ? 0 : 0.3, steps: 2, noiseSeed: 9)
        model.eval()
        return model
    }

    static let rules: [PGDUpdateRule] = [.paper, .madry(stepSize: nil, randomStart: true), .madry(stepSize: 0.2, randomStart: false)]

    /// ‖x_adv − x‖ ≤ ε (up to float rounding: 1e-5 relative) and pixels in [0, 1], for both norms,
    /// both rules, through the SDE block with EOT.
    func testPerturbationStaysInTheBallAndTheBox() throws {
        let model = Self.sdeModel()
        let (images, labels) = SyntheticImages.dataset(count: 6, seed: 4).batch(indices: Array(0..<6))
        for norm in AttackNorm.allCases {
            let epsilon: Float = norm == .l2 ? 0.8 : 0.1
            for rule in Self.rules {
                let attack = PGD(norm: norm, epsilon: epsilon, steps: 4, update: rule, eotSamples: 2, seed: 1)
                let adversarial = try attack.perturb(images, labels: labels, model: model)
                XCTAssertEqual(adversarial.shape, images.shape)
                let a = adversarial.scalars, x = images.scalars
                XCTAssertTrue(a.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(norm) \(rule): pixel outside [0, 1]")
                for i in 0..<6 {
                    let d = norm.norm(of: (i * 64..<(i + 1) * 64).map { a[$0] - x[$0] })
                    XCTAssertLessThanOrEqual(d, Double(epsilon) * (1 + 1e-5), "\(norm) \(rule) image \(i)")
                }
                XCTAssertGreaterThan(norm.meanDistance(adversarial, images), 0, "\(norm) \(rule): the attack did not move")
            }
        }
    }

    /// ε = 0 returns the clean images and runs no pass.
    func testZeroEpsilonReturnsTheCleanImages() throws {
        let model = Self.sdeModel()
        let (images, labels) = SyntheticImages.dataset(count: 3, seed: 4).batch(indices: [0, 1, 2])
        let adversarial = try PGD(epsilon: 0, eotSamples: 3).perturb(images, labels: labels, model: model)
        XCTAssertEqual(adversarial.scalars, images.scalars)
        XCTAssertEqual(model.noiseCounter, 0)
    }

    /// Linear model, label 0, margin m = 0.3: the optimal L2 attack lowers the margin by ε‖w‖₂ and
    /// L∞ by ε‖w‖₁. Madry steps (normalised/signed gradients) reach both within 1e-4 (float
    /// rounding), so the attack flips the label exactly when ε exceeds m/‖w‖.
    func testMadryReachesTheLinearWorstCase() throws {
        let (model, w) = Self.linearModel()
        let x = Self.centred(1), m: Float = 0.3
        for (norm, size) in [(AttackNorm.l2, Self.l2(w)), (.linf, w.reduce(0) { $0 + abs($1) })] {
            let critical = m / size
            for epsilon in [0.5 * critical, 0.9 * critical, 1.1 * critical, 2 * critical] {
                let attack = PGD(norm: norm, epsilon: epsilon, steps: 20, update: .madry(stepSize: nil, randomStart: false))
                let adversarial = try attack.perturb(x, labels: [0], model: model)
                let margin = try model.margins(adversarial)[0]
                XCTAssertEqual(margin, m - epsilon * size, accuracy: 1e-4, "\(norm) ε = \(epsilon)")
                XCTAssertEqual(margin < 0, epsilon > critical, "\(norm) ε = \(epsilon)")
            }
        }
    }

    /// The authors' Adam rule: with |wᵢ| all equal, its sign-like steps point along w, so it also
    /// reaches m − ε‖w‖₂; for any w no attack in the ball can go below that bound.
    func testAdamReachesTheLinearWorstCaseAndNoAttackBeatsIt() throws {
        let x = Self.centred(1), m: Float = 0.3
        let (equal, we) = Self.linearModel(equalMagnitude: true)
        let epsilon: Float = 0.4
        let adam = PGD(norm: .l2, epsilon: epsilon, steps: 60, update: .adam(learningRate: 0.02))
        XCTAssertEqual(try equal.margins(try adam.perturb(x, labels: [0], model: equal))[0], m - epsilon * Self.l2(we), accuracy: 1e-4)
        let (general, w) = Self.linearModel(seed: 11)
        for rule in Self.rules {
            let attack = PGD(norm: .l2, epsilon: epsilon, steps: 30, update: rule, seed: 2)
            let margin = try general.margins(try attack.perturb(x, labels: [0], model: general))[0]
            XCTAssertGreaterThanOrEqual(margin, m - epsilon * Self.l2(w) - 1e-4, "\(rule)")
            XCTAssertLessThan(margin, m, "\(rule): the attack did not lower the margin")
        }
    }

    /// Without noise (σ = 0) the K passes of EOT would be identical, so K = 8 is bit-for-bit the
    /// plain attack (K = 1), for the linear model and through the ODE block.
    func testEOTWithoutNoiseEqualsPlainPGD() throws {
        let (linear, _) = Self.linearModel()
        let ode = Self.sdeModel(noise: .ode)
        let noiseless = Self.sdeModel()
        noiseless.testSigma = 0
        let (images, labels) = SyntheticImages.dataset(count: 4, seed: 4).batch(indices: Array(0..<4))
        for rule in Self.rules {
            let plain = PGD(norm: .l2, epsilon: 0.2, steps: 3, update: rule, eotSamples: 1, seed: 3)
            var eot = plain
            eot.eotSamples = 8
            let x = Self.centred(2)
            XCTAssertEqual(try eot.perturb(x, labels: [0, 0], model: linear).scalars.map(\.bitPattern),
                           try plain.perturb(x, labels: [0, 0], model: linear).scalars.map(\.bitPattern))
            for model in [ode, noiseless] {
                XCTAssertEqual(try eot.perturb(images, labels: labels, model: model).scalars.map(\.bitPattern),
                               try plain.perturb(images, labels: labels, model: model).scalars.map(\.bitPattern))
            }
        }
    }

    /// The same seed gives bit-identical adversaries, another seed others; EOT changes the
    /// result when the model is noisy; the model's mode, σ, seed, counter, steps and parameter
    /// gradients are as before.
    func testSeededRunsAreReproducibleAndRestoreTheModel() throws {
        let model = Self.sdeModel()
        model.train()
        model.noiseSeed = 42
        model.noiseCounter = 17
        let (images, labels) = SyntheticImages.dataset(count: 4, seed: 4).batch(indices: Array(0..<4))
        for rule in Self.rules {
            let attack = PGD(norm: .l2, epsilon: 0.5, steps: 3, update: rule, eotSamples: 2, seed: 6)
            let a = try attack.perturb(images, labels: labels, model: model).scalars.map(\.bitPattern)
            let b = try attack.perturb(images, labels: labels, model: model).scalars.map(\.bitPattern)
            XCTAssertEqual(a, b, "\(rule)")
            var other = attack
            other.seed = 7
            XCTAssertNotEqual(try other.perturb(images, labels: labels, model: model).scalars.map(\.bitPattern), a, "\(rule)")
            var single = attack
            single.eotSamples = 1
            XCTAssertNotEqual(try single.perturb(images, labels: labels, model: model).scalars.map(\.bitPattern), a, "\(rule)")
        }
        XCTAssertTrue(model.isTraining)
        XCTAssertEqual(model.noiseSeed, 42)
        XCTAssertEqual(model.noiseCounter, 17)
        XCTAssertEqual(model.testSigma, 0.3)
        XCTAssertTrue(model.parameters.allSatisfy { $0.grad == nil }, "the attack left parameter gradients behind")
    }

    /// The gradient passes split the images into one shard per thread; each image's gradient and
    /// noise are those of the unsplit batch, so the adversaries agree across thread counts.
    func testShardedGradientPassesMatchOneThread() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let model = Self.sdeModel()
        let (images, labels) = SyntheticImages.dataset(count: 5, seed: 4).batch(indices: Array(0..<5))
        let attack = PGD(norm: .l2, epsilon: 0.5, steps: 3, update: .madry(stepSize: nil, randomStart: true), eotSamples: 2, seed: 6)
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            results.append(try attack.perturb(images, labels: labels, model: model).scalars)
        }
        for r in results.dropFirst() { XCTAssertEqual(r, results[0], accuracy: 1e-5) }
        XCTAssertTrue(model.parameters.allSatisfy { $0.grad == nil }, "the attack left parameter gradients behind")
    }

    /// Bad settings and inputs are errors naming the parameter.
    func testBadSettingsAreErrorsNamingTheParameter() {
        let model = Self.sdeModel()
        let x = Tensor(repeating: 0.5, shape: [1, 1, 8, 8])
        let cases: [(PGD, String)] = [
            (PGD(epsilon: -1), "epsilon"), (PGD(epsilon: 1, steps: -1), "steps"), (PGD(epsilon: 1, eotSamples: 0), "eotSamples"),
            (PGD(epsilon: 1, update: .adam(learningRate: 0)), "learningRate"),
            (PGD(epsilon: 1, update: .madry(stepSize: -0.1, randomStart: true)), "stepSize"),
        ]
        for (attack, name) in cases {
            XCTAssertThrowsError(try attack.perturb(x, labels: [0], model: model)) { error in
                guard case RobustnessError.invalidParameter(let n, _, _)? = error as? RobustnessError else { return XCTFail("\(error)") }
                XCTAssertEqual(n, name)
            }
        }
        XCTAssertThrowsError(try PGD(epsilon: 1).perturb(x, labels: [0, 1], model: model)) { error in
            XCTAssertTrue("\(error)".contains("images"), "\(error)")
        }
    }
}

import Foundation
import NSDEData
import NSDETensor
import NSDETraining

/// Accuracy against ``PGD`` as a function of ε (the paper's Figure 3), without and with
/// test-time noise, and for noisy models with and without expectation over transformation.
///
/// For each ε in ``epsilons`` and each batch of ``batchSize`` images (in dataset order):
/// 1. the EOT attack ``PGD`` with K = ``eotSamples`` gradient passes at the model's test σ (default
///    10 when the model draws noise at its test σ, else 1) gives adversaries;
/// 2. ``evaluate(_:on:testSigma:ttnSamples:batchSize:seed:progress:)`` on them gives the plain
///    accuracy (σ = 0) and the TTN accuracy (``ttnSamples`` noisy passes at the test σ);
/// 3. when K > 1, the same attack with K = 1 is run and evaluated too, so the gap between the two
///    shows how much of a noisy model's apparent robustness comes from noisy gradients.
/// Both predictions are evaluated on adversaries crafted against the model with its noise on
/// (as deployed, and as the authors' code does), and the mean achieved ‖x_adv − x‖ is reported.
///
/// Batch b's attack uses key `seed + b · 0x9E3779B97F4A7C15` for every ε (common random numbers
/// across ε); the evaluation's TTN noise uses key `seed`. The result is a pure function of
/// (weights, data, settings, seed); the model's state is restored afterwards.
///
/// - Complexity: per ε and image, `steps · K` (+ `steps` without EOT) forward/backward passes
///   plus `1 + ttnSamples` forward passes per evaluated set.
public struct RobustAccuracy: Sendable {
    /// The attack's norm (the paper: L2).
    public var norm: AttackNorm
    /// The radii ε ≥ 0, in pixel units, in plot order.
    public var epsilons: [Float]
    /// PGD iterations (the paper: 40).
    public var steps: Int
    /// The update rule (the paper: Adam, learning rate 0.005).
    public var update: PGDUpdateRule
    /// K of the EOT attack; `nil`: 10 for a model that draws noise at its test σ, else 1. Forced
    /// to 1 for a noise-free model (the passes would be identical).
    public var eotSamples: Int?
    /// Noisy passes of the TTN prediction (0: no TTN).
    public var ttnSamples: Int
    /// Images per attacked batch and per evaluation pass.
    public var batchSize: Int
    /// Key of the attack and TTN noise.
    public var seed: UInt64

    /// The default K of the EOT attack for a noisy model.
    public static let defaultEOTSamples = 10

    /// Creates the settings.
    ///
    /// - Parameters:
    ///   - norm: L2 (default) or L∞.
    ///   - epsilons: ε values ≥ 0.
    ///   - steps: PGD iterations (default 40).
    ///   - update: default the paper's Adam, learning rate 0.005.
    ///   - eotSamples: K ≥ 1, or `nil` for the default (see ``eotSamples``).
    ///   - ttnSamples: K ≥ 0 of TTN (default 10).
    ///   - batchSize: > 0 (default 100).
    ///   - seed: default 0.
    public init(norm: AttackNorm = .l2, epsilons: [Float], steps: Int = 40, update: PGDUpdateRule = .paper,
                eotSamples: Int? = nil, ttnSamples: Int = 10, batchSize: Int = 100, seed: UInt64 = 0) {
        self.norm = norm
        self.epsilons = epsilons
        self.steps = steps
        self.update = update
        self.eotSamples = eotSamples
        self.ttnSamples = ttnSamples
        self.batchSize = batchSize
        self.seed = seed
    }

    /// The K the EOT attack uses on `model` (see ``eotSamples``).
    public func effectiveEOTSamples<Model: StochasticClassifier>(for model: Model) -> Int {
        model.injectsNoise(testSigma: model.testSigma) ? (eotSamples ?? Self.defaultEOTSamples) : 1
    }

    /// The attack at radius `epsilon` with `samples` EOT passes, keyed for batch `batch`.
    public func attack(epsilon: Float, eotSamples samples: Int, batch: Int) -> PGD {
        PGD(norm: norm, epsilon: epsilon, steps: steps, update: update, eotSamples: samples,
            seed: seed &+ UInt64(batch) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Attacks and evaluates `model` on every example of `dataset` (see the type's description).
    ///
    /// - Parameters:
    ///   - model: the classifier (its test σ is used; state restored afterwards).
    ///   - dataset: the clean test images (all are used, in order).
    ///   - progress: called after each attacked batch with (batches done, total batches).
    /// - Returns: one point per ε.
    /// - Throws: ``RobustnessError/invalidParameter(name:value:expected:)`` for bad settings; the
    ///   model's errors.
    public func run<Model: StochasticClassifier, D: Dataset>(
        _ model: Model, on dataset: D, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> RobustAccuracyResult {
        guard !epsilons.isEmpty else {
            throw RobustnessError.invalidParameter(name: "epsilons", value: "[]", expected: "at least one ε")
        }
        guard batchSize > 0 else {
            throw RobustnessError.invalidParameter(name: "batchSize", value: "\(batchSize)", expected: "a positive integer")
        }
        guard ttnSamples >= 0 else {
            throw RobustnessError.invalidParameter(name: "ttnSamples", value: "\(ttnSamples)", expected: "an integer ≥ 0")
        }
        for epsilon in epsilons { try attack(epsilon: epsilon, eotSamples: 1, batch: 0).validate() }
        if let eotSamples { try attack(epsilon: 0, eotSamples: eotSamples, batch: 0).validate() }
        let start = Date()
        let samples = effectiveEOTSamples(for: model)
        let batches = stride(from: 0, to: dataset.count, by: batchSize).map { $0..<Swift.min($0 + batchSize, dataset.count) }
        let runs = samples > 1 ? [samples, 1] : [samples]
        let total = epsilons.count * batches.count * runs.count
        var done = 0
        var points: [RobustAccuracyPoint] = []
        for epsilon in epsilons {
            var measured: [(accuracy: Double, ttn: Double?, norm: Double)] = []
            for k in runs {
                var images: [Float] = [], labels: [Int] = [], norms = 0.0
                for (b, range) in batches.enumerated() {
                    let (clean, y) = dataset.batch(indices: Array(range))
                    let adversarial = try attack(epsilon: epsilon, eotSamples: k, batch: b).perturb(clean, labels: y, model: model)
                    norms += norm.meanDistance(adversarial, clean) * Double(range.count)
                    images += adversarial.scalars
                    labels += y
                    done += 1
                    progress?(done, total)
                }
                let set = AdversarialExamples(images: Tensor(shape: [labels.count] + dataset.imageShape, scalars: images),
                                              labels: labels, classes: dataset.classes)
                let result = try evaluate(model, on: set, testSigma: model.testSigma, ttnSamples: ttnSamples,
                                          batchSize: batchSize, seed: seed)
                measured.append((result.accuracy, result.accuracyTTN, norms / Double(Swift.max(labels.count, 1))))
            }
            let noEOT = measured.count > 1 ? measured[1] : nil
            points.append(RobustAccuracyPoint(epsilon: epsilon, accuracy: measured[0].accuracy, accuracyTTN: measured[0].ttn,
                                              accuracyNoEOT: noEOT?.accuracy, accuracyTTNNoEOT: noEOT?.ttn ?? nil,
                                              meanNorm: measured[0].norm, meanNormNoEOT: noEOT?.norm))
        }
        return RobustAccuracyResult(norm: norm, method: update.name, steps: steps, eotSamples: samples, ttnSamples: ttnSamples,
                                    testSigma: model.testSigma, count: dataset.count, seed: seed, points: points,
                                    seconds: Date().timeIntervalSince(start))
    }
}

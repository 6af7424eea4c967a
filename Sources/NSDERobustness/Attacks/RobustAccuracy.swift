import Foundation
import NSDEData
import NSDENN
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
/// (weights, data, settings, seed), whichever process attacks a batch (the batches can be dealt
/// over the processes of a job, ``run(_:on:communicator:progress:)``); the model's state is
/// restored afterwards.
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
    ///   - communicator: the processes that share the work (default: this one). With several, the
    ///     batches are dealt round-robin over them (``Communicator/share(of:)``), each process
    ///     attacks its batches, every process receives every batch's adversaries, and the
    ///     evaluation deals the batches again (see `evaluate`): the result equals the one-process
    ///     result bit for bit, since batch b's attack noise is keyed by b wherever it runs. Every
    ///     process must call with the same arguments.
    ///   - progress: called after each of this process's attacked batches with (batches done,
    ///     total batches); with several processes "done" is this process's share scaled to the
    ///     total, so every caller can show one bar for the whole set.
    /// - Returns: one point per ε.
    /// - Throws: ``RobustnessError/invalidParameter(name:value:expected:)`` for bad settings or
    ///   processes that disagree about the batches; the model's errors.
    public func run<Model: StochasticClassifier, D: Dataset>(
        _ model: Model, on dataset: D, communicator: any Communicator = SingleProcess.shared,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
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
        let mine = Array(communicator.share(of: batches.count))
        let runs = samples > 1 ? [samples, 1] : [samples]
        let total = epsilons.count * batches.count * runs.count, myTotal = epsilons.count * mine.count * runs.count
        var myDone = 0
        var points: [RobustAccuracyPoint] = []
        for epsilon in epsilons {
            var measured: [(accuracy: Double, ttn: Double?, norm: Double)] = []
            for k in runs {
                // This process's batches: their adversaries and Σ ‖x_adv − x‖ per batch.
                var attacked = AttackedBatches()
                for b in mine {
                    let range = batches[b]
                    let (clean, y) = dataset.batch(indices: Array(range))
                    let adversarial = try attack(epsilon: epsilon, eotSamples: k, batch: b).perturb(clean, labels: y, model: model)
                    attacked.append(adversarial, labels: y, normSum: norm.meanDistance(adversarial, clean) * Double(range.count))
                    myDone += 1
                    progress?(Swift.min(total, myDone * total / Swift.max(myTotal, 1)), total)
                }
                let all = try attacked.gathered(batches: batches, imageSize: dataset.imageShape.reduce(1, *),
                                                    communicator: communicator)
                let set = AdversarialExamples(images: Tensor(shape: [all.labels.count] + dataset.imageShape, scalars: all.images),
                                              labels: all.labels, classes: dataset.classes)
                let result = try evaluate(model, on: set, testSigma: model.testSigma, ttnSamples: ttnSamples,
                                          batchSize: batchSize, seed: seed, communicator: communicator)
                measured.append((result.accuracy, result.accuracyTTN, all.normSum / Double(Swift.max(all.labels.count, 1))))
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

/// The adversaries of one process's batches (in its order), and their assembly from every
/// process's into the whole attacked set.
private struct AttackedBatches {
    var images: [Float] = []
    var labels: [Int] = []
    /// Σ ‖x_adv − x‖ of each batch.
    var normSums: [Double] = []

    mutating func append(_ adversarial: Tensor, labels y: [Int], normSum: Double) {
        images += adversarial.scalars
        labels += y
        normSums.append(normSum)
    }

    /// Every batch's adversaries in batch order, from every process's share (batch b from process
    /// b mod size, its (b / size)-th), and Σ ‖x_adv − x‖ over the set added in batch order (as one
    /// process adds them).
    func gathered(batches: [Range<Int>], imageSize: Int,
                  communicator: any Communicator) throws -> (images: [Float], labels: [Int], normSum: Double) {
        let size = communicator.size
        let allImages = try communicator.allGather(values: images), allLabels = try communicator.allGather(values: labels)
        let allNorms = try communicator.allGather(values: normSums)
        var images: [Float] = [], labels: [Int] = [], normSum = 0.0
        images.reserveCapacity(batches.last.map { $0.upperBound * imageSize } ?? 0)
        var offsets = [Int](repeating: 0, count: size)
        for (b, range) in batches.enumerated() {
            let r = b % size, j = b / size, first = offsets[r]
            guard allNorms.count == size, j < allNorms[r].count, first + range.count <= allLabels[r].count,
                  (first + range.count) * imageSize <= allImages[r].count else {
                throw RobustnessError.invalidParameter(name: "processes", value: "no adversaries of batch \(b) from process \(r)",
                                                       expected: "every batch attacked once (the same arguments on every process)")
            }
            images += allImages[r][first * imageSize..<(first + range.count) * imageSize]
            labels += allLabels[r][first..<first + range.count]
            normSum += allNorms[r][j]
            offsets[r] += range.count
        }
        return (images, labels, normSum)
    }
}

import Foundation
import NSDEData
import NSDENN
import NSDETensor

/// Evaluates a classifier without and with test-time noise (TTN, Liu et al. 2019, §4).
///
/// For every batch of `batchSize` examples (in dataset order):
/// 1. one pass in evaluation mode at test σ = 0 gives the "w/o TTN" prediction argmaxₖ logitsₖ;
/// 2. with `ttnSamples` = K > 0, K passes at test σ = `testSigma` give p̄ = (1/K) Σᵢ softmax(logitsᵢ)
///    and the TTN prediction argmaxₖ p̄ₖ (the paper uses K = 100). When those passes draw no noise
///    (σ = 0, or an ODE block) they would all be equal to pass 1, so pass 1 is reused and the TTN
///    metrics equal the plain ones exactly.
///
/// The noisy passes use the model's Brownian streams 0, 1, 2, … of key `seed` in order (batch by
/// batch, K per batch), so the result is a pure function of (weights, data, testSigma, K,
/// batchSize, seed). The model's mode, test σ, noise seed and noise counter are restored
/// afterwards, so evaluating in the middle of training leaves the training noise untouched.
///
/// - Parameters:
///   - model: the classifier.
///   - dataset: the examples (all are used, in order).
///   - testSigma: σ of the TTN passes (≥ 0).
///   - ttnSamples: K ≥ 0, noisy passes per example (0: no TTN; the result's `ttn` is `nil`).
///   - batchSize: examples per pass (> 0).
///   - seed: key of the TTN noise.
///   - communicator: the processes that share the work (default: this one). With several, the
///     batches are dealt round-robin over them (``Communicator/share(of:)``), each process runs
///     its batches, and every process receives every batch's output and builds the same result
///     in batch order: equal to the one-process result bit for bit (the noise of batch b is its
///     streams b·K ..< (b + 1)·K wherever it runs). Every process must call with the same
///     arguments.
///   - progress: called after each of this process's batches with (examples done, examples in
///     the dataset); with several processes "done" is this process's share scaled to the dataset
///     (each process runs about 1/size of it), so every caller can show one bar for the whole set.
/// - Returns: plain and TTN metrics (accuracy with Wilson 95 % interval, per-class accuracy,
///   confusion matrix, mean negative log-likelihood) and the predictions.
/// - Throws: ``TrainingError/invalidParameter(name:value:expected:)`` for a bad setting or a
///   dataset whose labels exceed the model's outputs; the model's forward-pass errors (e.g. a
///   non-finite state).
/// - Complexity: (1 + K) forward passes per example (1 when the passes draw no noise).
public func evaluate<Model: StochasticClassifier, D: Dataset>(
    _ model: Model, on dataset: D, testSigma: Float, ttnSamples: Int, batchSize: Int = 128, seed: UInt64 = 0,
    communicator: any Communicator = SingleProcess.shared, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
) throws -> EvaluationResult {
    guard testSigma.isFinite, testSigma >= 0 else {
        throw TrainingError.invalidParameter(name: "testSigma", value: "\(testSigma)", expected: "a finite value ≥ 0")
    }
    guard ttnSamples >= 0 else {
        throw TrainingError.invalidParameter(name: "ttnSamples", value: "\(ttnSamples)", expected: "an integer ≥ 0")
    }
    guard batchSize > 0 else {
        throw TrainingError.invalidParameter(name: "batchSize", value: "\(batchSize)", expected: "a positive integer")
    }
    let start = Date()
    let classCount = dataset.classCount
    let wasTraining = model.isTraining
    let saved = (sigma: model.testSigma, seed: model.noiseSeed, counter: model.noiseCounter)
    defer {
        model.testSigma = saved.sigma
        model.noiseSeed = saved.seed
        model.noiseCounter = saved.counter
        if wasTraining { model.train() }
    }
    model.eval()
    model.noiseSeed = seed
    model.noiseCounter = 0
    let noisy = ttnSamples > 0 && model.injectsNoise(testSigma: testSigma)

    // This process's batches: the plain log-probabilities and, with TTN, the sums of the K
    // passes' probabilities, per batch.
    let batchCount = (dataset.count + batchSize - 1) / batchSize
    let mine = Array(communicator.share(of: batchCount))
    let myTotal = mine.reduce(0) { $0 + min(batchSize, dataset.count - $1 * batchSize) }
    var outputs: [BatchOutput] = []
    var myDone = 0
    try noGrad {
        for b in mine {
            let first = b * batchSize
            let indices = Array(first..<min(first + batchSize, dataset.count))
            let (images, labels) = dataset.batch(indices: indices)
            model.testSigma = 0
            model.noiseCounter = UInt64(b) &* UInt64(ttnSamples)
            let logProbs = try shardedLogits(model, images).logSoftmax()
            let k = logProbs.shape.last ?? 0
            guard k == classCount else {
                throw TrainingError.invalidParameter(
                    name: "dataset", value: "\(classCount) classes", expected: "as many classes as the model's \(k) outputs")
            }
            let logP = logProbs.scalars
            try checkFinite(logP, firstExample: first)
            var sums: [Double] = []
            if noisy {
                model.testSigma = testSigma
                sums = [Double](repeating: 0, count: indices.count * k)
                for i in 0..<ttnSamples {
                    // TTN pass i of batch b draws stream b·K + i, wherever the batch runs.
                    model.noiseCounter = UInt64(b) &* UInt64(ttnSamples) &+ UInt64(i)
                    let lp = try shardedLogits(model, images).logSoftmax().scalars
                    try checkFinite(lp, firstExample: first)
                    for j in 0..<sums.count { sums[j] += Foundation.exp(Double(lp[j])) }
                }
            }
            outputs.append(BatchOutput(batch: b, labels: labels, logProbabilities: logP, probabilitySums: sums))
            myDone += indices.count
            progress?(min(dataset.count, myDone * dataset.count / max(myTotal, 1)), dataset.count)
        }
    }
    if communicator.size > 1 {
        outputs = try communicator.allGather(outputs.flatMap { $0.encoded() }).flatMap(BatchOutput.decodeAll)
        outputs.sort { $0.batch < $1.batch }
        guard outputs.map(\.batch) == Array(0..<batchCount) else {
            throw TrainingError.invalidParameter(name: "processes", value: "batches \(outputs.map(\.batch))",
                                                 expected: "every batch 0..<\(batchCount) once (the same arguments on every process)")
        }
    }

    // Every batch's output, in batch order.
    var plainPredictions: [Int] = [], ttnPredictions: [Int] = []
    plainPredictions.reserveCapacity(dataset.count)
    var plainConfusion = ConfusionMatrix(classCount: max(classCount, 1)), ttnConfusion = plainConfusion
    var plainNLL = 0.0, ttnNLL = 0.0
    let k = classCount
    for output in outputs {
        let labels = output.labels, logP = output.logProbabilities
        for (row, label) in labels.enumerated() {
            let predicted = argmax(logP, row: row, width: k)
            plainPredictions.append(predicted)
            plainConfusion.add(truth: label, predicted: predicted)
            plainNLL -= Double(logP[row * k + label])
        }
        if noisy {
            let sums = output.probabilitySums
            let scale = 1 / Double(ttnSamples)
            for (row, label) in labels.enumerated() {
                let predicted = argmax(sums, row: row, width: k)
                ttnPredictions.append(predicted)
                ttnConfusion.add(truth: label, predicted: predicted)
                ttnNLL -= Foundation.log(sums[row * k + label] * scale)
            }
        }
    }
    let n = Double(max(dataset.count, 1))
    let plain = ClassificationMetrics(predictions: plainPredictions, confusion: plainConfusion,
                                      meanNegativeLogLikelihood: plainNLL / n)
    let ttn: ClassificationMetrics?
    if ttnSamples == 0 {
        ttn = nil
    } else if noisy {
        ttn = ClassificationMetrics(predictions: ttnPredictions, confusion: ttnConfusion, meanNegativeLogLikelihood: ttnNLL / n)
    } else {
        ttn = plain
    }
    return EvaluationResult(count: dataset.count, classNames: dataset.classes, testSigma: testSigma, ttnSamples: ttnSamples,
                            seed: seed, batchSize: batchSize, plain: plain, ttn: ttn,
                            seconds: Date().timeIntervalSince(start))
}

/// Throws when a log-probability is NaN (NaN or infinite logits): an accuracy computed from
/// them would be meaningless.
private func checkFinite(_ logProbabilities: [Float], firstExample: Int) throws {
    guard logProbabilities.contains(where: \.isNaN) else { return }
    throw TrainingError.invalidParameter(
        name: "model", value: "NaN or infinite logits in the batch starting at example \(firstExample)",
        expected: "finite logits (check the weights for overflow or a diverged run)")
}

/// The index of the first largest of `values[row * width ..< (row + 1) * width]`, relative to the row.
private func argmax<T: Comparable>(_ values: [T], row: Int, width: Int) -> Int {
    var best = 0
    for c in 1..<max(width, 1) where values[row * width + c] > values[row * width + best] { best = c }
    return best
}

/// One evaluation batch's output: its index, its labels, the plain pass's log-probabilities
/// `[rows · K]` and, with TTN, the sums over the noisy passes of the probabilities `[rows · K]`
/// (empty without).
struct BatchOutput: Equatable {
    let batch: Int
    let labels: [Int]
    let logProbabilities: [Float]
    let probabilitySums: [Double]

    /// Little-endian bytes: batch, label count, float count, double count (Int64 each), the
    /// labels (Int64), the floats, the doubles.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        for v in [Int64(batch), Int64(labels.count), Int64(logProbabilities.count), Int64(probabilitySums.count)]
            + labels.map(Int64.init) {
            withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        }
        for v in logProbabilities { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        for v in probabilitySums { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }

    /// The outputs encoded one after another by ``encoded()``.
    static func decodeAll(_ bytes: [UInt8]) throws -> [BatchOutput] {
        var outputs: [BatchOutput] = [], offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count else {
                throw TrainingError.invalidParameter(name: "evaluation message", value: "\(bytes.count) bytes",
                                                     expected: "whole batch outputs from every process")
            }
            var v: T = 0
            withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[offset..<offset + MemoryLayout<T>.size]) }
            offset += MemoryLayout<T>.size
            return T(littleEndian: v)
        }
        while offset < bytes.count {
            let batch = Int(try read(Int64.self)), rows = Int(try read(Int64.self))
            let floats = Int(try read(Int64.self)), doubles = Int(try read(Int64.self))
            guard batch >= 0, rows >= 0, floats >= 0, doubles >= 0, rows + floats + doubles <= bytes.count else {
                throw TrainingError.invalidParameter(name: "evaluation message", value: "batch \(batch)", expected: "valid counts")
            }
            let labels = try (0..<rows).map { _ in Int(try read(Int64.self)) }
            let logP = try (0..<floats).map { _ in Float(bitPattern: try read(UInt32.self)) }
            let sums = try (0..<doubles).map { _ in Double(bitPattern: try read(UInt64.self)) }
            outputs.append(BatchOutput(batch: batch, labels: labels, logProbabilities: logP, probabilitySums: sums))
        }
        return outputs
    }
}

/// The model's logits for a batch, its rows split into ``BatchParallel`` shards (one per kernel
/// thread) that run side by side on one noise stream, so each image gets the noise it gets in the
/// unsplit batch. Advances ``StochasticClassifier/noiseCounter`` as one ``StochasticClassifier/logits(_:)``
/// call does.
func shardedLogits<Model: StochasticClassifier>(_ model: Model, _ images: Tensor) throws -> Tensor {
    let n = images.shape[0]
    let stream = model.reserveNoiseStream()
    let parts = try BatchParallel.run(batch: n) { shard in
        try model.logits(shard.slice(images), noiseStream: stream)
    }
    return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
}

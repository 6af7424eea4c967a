import Foundation
import NSDEData
import NSDENN
import NSDETensor

/// A minimal supervised training loop for image classifiers (test-only: it checks that the layers,
/// losses and optimisers learn; real training is `Trainer` in NSDETraining): one epoch of
/// mini-batch updates, and evaluation.
public enum ClassifierTraining {
    /// Statistics of one pass over a data set.
    public struct EpochStatistics: Sendable {
        /// Mean cross-entropy over the batches.
        public var loss: Double
        /// Fraction of correctly classified examples.
        public var accuracy: Double
        /// Examples processed.
        public var examples: Int
        /// Wall-clock seconds.
        public var seconds: Double
        public init(loss: Double, accuracy: Double, examples: Int, seconds: Double) {
            self.loss = loss; self.accuracy = accuracy; self.examples = examples; self.seconds = seconds
        }
        /// Examples per second.
        public var examplesPerSecond: Double { seconds > 0 ? Double(examples) / seconds : 0 }
    }

    /// Trains `model` for one epoch of `loader`, calling `progress(batchIndex, batchCount, runningLoss)`
    /// after each batch.
    public static func trainEpoch<D: Dataset>(
        _ model: some Layer, loader: DataLoader<D>, epoch: Int, optimizer: any Optimizer,
        progress: (Int, Int, Double) -> Void = { _, _, _ in }
    ) -> EpochStatistics {
        model.train()
        let start = Date()
        var lossSum = 0.0, correct = 0.0, seen = 0, batches = 0
        let total = loader.batchesPerEpoch
        for (images, labels) in loader.epoch(epoch) {
            optimizer.zeroGrad()
            let logits = model(images)
            let loss = crossEntropy(logits: logits, labels: labels)
            loss.backward()
            optimizer.step()
            lossSum += Double(loss.item)
            correct += accuracy(logits: logits.detached(), labels: labels) * Double(labels.count)
            seen += labels.count
            batches += 1
            progress(batches, total, lossSum / Double(batches))
        }
        return EpochStatistics(loss: lossSum / Double(max(batches, 1)), accuracy: correct / Double(max(seen, 1)),
                               examples: seen, seconds: Date().timeIntervalSince(start))
    }

    /// Evaluates `model` in evaluation mode on every example of `dataset`.
    public static func evaluate<D: Dataset>(_ model: some Layer, on dataset: D, batchSize: Int = 256) -> EpochStatistics {
        model.eval()
        defer { model.train() }
        let start = Date()
        var lossSum = 0.0, correct = 0.0
        var index = 0
        noGrad {
            while index < dataset.count {
                let range = index..<min(index + batchSize, dataset.count)
                let (images, labels) = dataset.batch(indices: Array(range))
                let logits = model(images)
                lossSum += Double(crossEntropy(logits: logits, labels: labels).item) * Double(labels.count)
                correct += accuracy(logits: logits, labels: labels) * Double(labels.count)
                index = range.upperBound
            }
        }
        let n = Double(max(dataset.count, 1))
        return EpochStatistics(loss: lossSum / n, accuracy: correct / n, examples: dataset.count,
                               seconds: Date().timeIntervalSince(start))
    }
}

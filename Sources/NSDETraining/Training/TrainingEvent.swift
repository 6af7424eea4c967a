/// Progress reports of a ``Trainer``, for progress bars and logs.
public enum TrainingEvent: Sendable {
    /// Epoch `epoch` (1-based) of `epochs` starts with `batches` batches at learning rate `learningRate`.
    case epochStarted(epoch: Int, epochs: Int, batches: Int, learningRate: Float)
    /// A training batch finished.
    case batchFinished(BatchProgress)
    /// The test set is being evaluated: `done` of `total` examples.
    case evaluating(epoch: Int, done: Int, total: Int)
    /// An epoch finished; its metrics were written and, with an output directory, the checkpoint saved.
    case epochFinished(EpochMetrics)
    /// Something the user should know that does not stop the run, as one sentence (e.g. a resume
    /// with another thread count than the checkpoint's, which is correct but not bit-identical).
    case warning(String)
}

/// One training batch's running statistics within its epoch.
public struct BatchProgress: Sendable {
    /// The epoch, 1-based.
    public let epoch: Int
    /// Batches done in this epoch (1-based).
    public let batch: Int
    /// Batches in the epoch.
    public let batches: Int
    /// Examples in this batch.
    public let batchSize: Int
    /// The batch's cross-entropy.
    public let loss: Double
    /// Mean cross-entropy of the epoch's batches so far.
    public let runningLoss: Double
    /// Fraction correct over the epoch so far.
    public let runningAccuracy: Double
    /// Examples done in this epoch.
    public let examples: Int
    /// Seconds since the epoch started.
    public let elapsed: Double

    public init(epoch: Int, batch: Int, batches: Int, batchSize: Int, loss: Double, runningLoss: Double,
                runningAccuracy: Double, examples: Int, elapsed: Double) {
        self.epoch = epoch
        self.batch = batch
        self.batches = batches
        self.batchSize = batchSize
        self.loss = loss
        self.runningLoss = runningLoss
        self.runningAccuracy = runningAccuracy
        self.examples = examples
        self.elapsed = elapsed
    }

    /// Training images per second so far in this epoch.
    public var imagesPerSecond: Double { elapsed > 0 ? Double(examples) / elapsed : 0 }
}

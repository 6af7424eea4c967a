/// What one training epoch measured: one line of `metrics.jsonl`.
///
/// JSON keys (a contract): `epoch` (1-based), `lr`, `train_loss`, `train_acc`, `test_acc` (w/o
/// TTN: test σ = 0; `null` without a test set), `test_loss`, `seconds` (the whole epoch:
/// training, evaluation and checkpoint), `train_seconds`, `images_per_s` (training images per
/// second of ``trainSeconds``), `train_examples`, `test_examples`.
public struct EpochMetrics: Codable, Equatable, Sendable {
    /// The epoch, 1-based (the number of epochs completed after it).
    public var epoch: Int
    /// The learning rate used throughout the epoch.
    public var learningRate: Float
    /// Mean cross-entropy over the epoch's batches (noisy, augmented training passes).
    public var trainLoss: Double
    /// Fraction of training examples classified correctly during the epoch.
    public var trainAccuracy: Double
    /// Test accuracy without test-time noise after the epoch, or `nil` without a test set.
    public var testAccuracy: Double?
    /// Mean test cross-entropy without test-time noise, or `nil`.
    public var testLoss: Double?
    /// Wall-clock seconds of the whole epoch.
    public var seconds: Double
    /// Wall-clock seconds of the training passes alone.
    public var trainSeconds: Double
    /// Training images per second.
    public var imagesPerSecond: Double
    /// Training examples seen.
    public var trainExamples: Int
    /// Test examples evaluated.
    public var testExamples: Int

    public init(epoch: Int, learningRate: Float, trainLoss: Double, trainAccuracy: Double, testAccuracy: Double?,
                testLoss: Double?, seconds: Double, trainSeconds: Double, imagesPerSecond: Double,
                trainExamples: Int, testExamples: Int) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testAccuracy = testAccuracy
        self.testLoss = testLoss
        self.seconds = seconds
        self.trainSeconds = trainSeconds
        self.imagesPerSecond = imagesPerSecond
        self.trainExamples = trainExamples
        self.testExamples = testExamples
    }

    enum CodingKeys: String, CodingKey {
        case epoch, learningRate = "lr", trainLoss = "train_loss", trainAccuracy = "train_acc", testAccuracy = "test_acc"
        case testLoss = "test_loss", seconds, trainSeconds = "train_seconds", imagesPerSecond = "images_per_s"
        case trainExamples = "train_examples", testExamples = "test_examples"
    }

    /// Encodes `nil` accuracies as JSON `null` so every line has every key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(trainLoss, forKey: .trainLoss)
        try c.encode(trainAccuracy, forKey: .trainAccuracy)
        try c.encode(testAccuracy, forKey: .testAccuracy)
        try c.encode(testLoss, forKey: .testLoss)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(trainSeconds, forKey: .trainSeconds)
        try c.encode(imagesPerSecond, forKey: .imagesPerSecond)
        try c.encode(trainExamples, forKey: .trainExamples)
        try c.encode(testExamples, forKey: .testExamples)
    }
}

/// What one training epoch measured: one line of `metrics.jsonl`.
///
/// JSON keys (a contract): `epoch` (1-based), `lr`, `train_loss`, `train_acc`, `test_acc` (w/o
/// TTN: test σ = 0; `null` without a test set), `test_loss`, `seconds` (the whole epoch:
/// training, evaluation and checkpoint), `train_seconds`, `images_per_s` (training images per
/// second of ``trainSeconds``), `train_examples`, `test_examples`, `val_acc` and `val_loss` (on the
/// validation split held out of the training data, test σ = 0; `null` without one or in an epoch
/// that was not evaluated), `val_examples`. `test_acc` is also `null` in epochs that were not
/// evaluated (`eval_every`).
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
    /// Validation accuracy without test-time noise after the epoch, or `nil`.
    public var validationAccuracy: Double?
    /// Mean validation cross-entropy without test-time noise, or `nil`.
    public var validationLoss: Double?
    /// Validation examples evaluated (0 without a validation split or evaluation).
    public var validationExamples: Int

    public init(epoch: Int, learningRate: Float, trainLoss: Double, trainAccuracy: Double, testAccuracy: Double?,
                testLoss: Double?, seconds: Double, trainSeconds: Double, imagesPerSecond: Double,
                trainExamples: Int, testExamples: Int, validationAccuracy: Double? = nil, validationLoss: Double? = nil,
                validationExamples: Int = 0) {
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
        self.validationAccuracy = validationAccuracy
        self.validationLoss = validationLoss
        self.validationExamples = validationExamples
    }

    enum CodingKeys: String, CodingKey {
        case epoch, learningRate = "lr", trainLoss = "train_loss", trainAccuracy = "train_acc", testAccuracy = "test_acc"
        case testLoss = "test_loss", seconds, trainSeconds = "train_seconds", imagesPerSecond = "images_per_s"
        case trainExamples = "train_examples", testExamples = "test_examples"
        case validationAccuracy = "val_acc", validationLoss = "val_loss", validationExamples = "val_examples"
    }

    /// Reads lines written before the validation keys existed (they read as `nil` / 0).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        trainLoss = try c.decode(Double.self, forKey: .trainLoss)
        trainAccuracy = try c.decode(Double.self, forKey: .trainAccuracy)
        testAccuracy = try c.decodeIfPresent(Double.self, forKey: .testAccuracy)
        testLoss = try c.decodeIfPresent(Double.self, forKey: .testLoss)
        seconds = try c.decode(Double.self, forKey: .seconds)
        trainSeconds = try c.decode(Double.self, forKey: .trainSeconds)
        imagesPerSecond = try c.decode(Double.self, forKey: .imagesPerSecond)
        trainExamples = try c.decode(Int.self, forKey: .trainExamples)
        testExamples = try c.decode(Int.self, forKey: .testExamples)
        validationAccuracy = try c.decodeIfPresent(Double.self, forKey: .validationAccuracy)
        validationLoss = try c.decodeIfPresent(Double.self, forKey: .validationLoss)
        validationExamples = try c.decodeIfPresent(Int.self, forKey: .validationExamples) ?? 0
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
        try c.encode(validationAccuracy, forKey: .validationAccuracy)
        try c.encode(validationLoss, forKey: .validationLoss)
        try c.encode(validationExamples, forKey: .validationExamples)
    }
}

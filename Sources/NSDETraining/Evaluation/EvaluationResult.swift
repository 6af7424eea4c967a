/// What ``evaluate(_:on:testSigma:ttnSamples:batchSize:seed:progress:)`` measures: the
/// predictions without test-time noise (σ = 0) and with it (TTN: the softmax averaged over K
/// noisy passes at the test σ), each with accuracy, Wilson 95 % interval, per-class accuracy,
/// confusion matrix and mean negative log-likelihood.
public struct EvaluationResult: Codable, Equatable, Sendable {
    /// Examples evaluated.
    public let count: Int
    /// The dataset's class names, indexed by label.
    public let classNames: [String]
    /// σ of the TTN passes.
    public let testSigma: Float
    /// K, the noisy passes averaged per example (0: no TTN).
    public let ttnSamples: Int
    /// Key of the TTN noise.
    public let seed: UInt64
    /// Examples per forward pass (the TTN noise of an example depends on its batch).
    public let batchSize: Int
    /// Predictions with the noise off (test σ = 0), "w/o TTN" in the paper.
    public let plain: ClassificationMetrics
    /// Predictions from the average of K softmaxes at ``testSigma``; `nil` when ``ttnSamples`` is 0.
    /// Equal to ``plain`` when the passes draw no noise (σ = 0 or an ODE block).
    public let ttn: ClassificationMetrics?
    /// Wall-clock seconds.
    public let seconds: Double

    public init(count: Int, classNames: [String], testSigma: Float, ttnSamples: Int, seed: UInt64, batchSize: Int,
                plain: ClassificationMetrics, ttn: ClassificationMetrics?, seconds: Double) {
        self.count = count
        self.classNames = classNames
        self.testSigma = testSigma
        self.ttnSamples = ttnSamples
        self.seed = seed
        self.batchSize = batchSize
        self.plain = plain
        self.ttn = ttn
        self.seconds = seconds
    }

    /// Accuracy without test-time noise.
    public var accuracy: Double { plain.accuracy }
    /// Accuracy with TTN, or `nil` without TTN.
    public var accuracyTTN: Double? { ttn?.accuracy }

    enum CodingKeys: String, CodingKey {
        case count, classNames = "class_names", testSigma = "test_sigma", ttnSamples = "ttn_samples", seed
        case batchSize = "batch_size", plain, ttn, seconds
    }
}

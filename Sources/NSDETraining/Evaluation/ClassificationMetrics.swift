import NSDEPlot

/// Accuracy, its 95 % confidence interval, per-class accuracy, the confusion matrix and the
/// mean negative log-likelihood of one set of predictions.
public struct ClassificationMetrics: Codable, Equatable, Sendable {
    /// The predicted class of every example, in dataset order.
    public let predictions: [Int]
    /// `[truth, predicted]` counts.
    public let confusion: ConfusionMatrix
    /// Mean over examples of −log p(true class) (natural log; p from the softmax, or the TTN
    /// average of softmaxes). Infinite if some p is 0.
    public let meanNegativeLogLikelihood: Double

    public init(predictions: [Int], confusion: ConfusionMatrix, meanNegativeLogLikelihood: Double) {
        self.predictions = predictions
        self.confusion = confusion
        self.meanNegativeLogLikelihood = meanNegativeLogLikelihood
    }

    /// Number of examples.
    public var count: Int { confusion.total }
    /// Correct predictions.
    public var correct: Int { confusion.correct }
    /// correct / count (0 for no examples).
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }
    /// The Wilson score 95 % interval of ``accuracy`` (see ``ConfidenceInterval``).
    public var ci95: ConfidenceInterval { .wilson(successes: correct, trials: count) }
    /// Accuracy within each true class; `nil` for a class absent from the data.
    public var perClassAccuracy: [Double?] { confusion.perClassAccuracy }

    enum CodingKeys: String, CodingKey {
        case predictions, confusion, meanNegativeLogLikelihood = "mean_nll"
    }
}

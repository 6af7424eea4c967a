/// Accuracy under attack at one ε (one point of the paper's Figure 3).
///
/// JSON keys: `eps`, `accuracy`, `accuracy_ttn`, `accuracy_no_eot`, `accuracy_ttn_no_eot`,
/// `mean_norm`, `mean_norm_no_eot`; every key is always present (`null` when there is no value).
public struct RobustAccuracyPoint: Codable, Equatable, Sendable {
    /// The radius ε of the attack, in pixel units.
    public let epsilon: Float
    /// Accuracy in [0, 1] of the plain prediction (test σ = 0) on the (EOT) adversaries.
    public let accuracy: Double
    /// Accuracy of the TTN prediction (softmax averaged over K noisy passes at the model's test σ)
    /// on the same adversaries; `nil` without TTN (K = 0).
    public let accuracyTTN: Double?
    /// Plain accuracy on the adversaries of the attack without EOT (one noisy pass per gradient);
    /// `nil` when the attack already used one pass (a noise-free model, or EOT K = 1).
    public let accuracyNoEOT: Double?
    /// TTN accuracy on the no-EOT adversaries; `nil` as ``accuracyNoEOT`` or without TTN.
    public let accuracyTTNNoEOT: Double?
    /// Mean over images of the achieved ‖x_adv − x‖ (the attack's norm) of the (EOT) adversaries.
    public let meanNorm: Double
    /// The same for the no-EOT adversaries, `nil` when there are none.
    public let meanNormNoEOT: Double?

    /// Creates a point.
    public init(epsilon: Float, accuracy: Double, accuracyTTN: Double?, accuracyNoEOT: Double?, accuracyTTNNoEOT: Double?,
                meanNorm: Double, meanNormNoEOT: Double?) {
        self.epsilon = epsilon
        self.accuracy = accuracy
        self.accuracyTTN = accuracyTTN
        self.accuracyNoEOT = accuracyNoEOT
        self.accuracyTTNNoEOT = accuracyTTNNoEOT
        self.meanNorm = meanNorm
        self.meanNormNoEOT = meanNormNoEOT
    }

    enum CodingKeys: String, CodingKey {
        case epsilon = "eps", accuracy, accuracyTTN = "accuracy_ttn", accuracyNoEOT = "accuracy_no_eot"
        case accuracyTTNNoEOT = "accuracy_ttn_no_eot", meanNorm = "mean_norm", meanNormNoEOT = "mean_norm_no_eot"
    }

    /// Encodes every key, with `null` for a missing value.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(accuracyTTN, forKey: .accuracyTTN)
        try c.encode(accuracyNoEOT, forKey: .accuracyNoEOT)
        try c.encode(accuracyTTNNoEOT, forKey: .accuracyTTNNoEOT)
        try c.encode(meanNorm, forKey: .meanNorm)
        try c.encode(meanNormNoEOT, forKey: .meanNormNoEOT)
    }
}

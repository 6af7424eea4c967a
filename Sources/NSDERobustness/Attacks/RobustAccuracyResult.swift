/// What ``RobustAccuracy/run(_:on:communicator:progress:)`` measures for one model: the settings used and one
/// ``RobustAccuracyPoint`` per ε.
public struct RobustAccuracyResult: Codable, Equatable, Sendable {
    /// The attack's norm.
    public let norm: AttackNorm
    /// The update rule's name, `"adam"` or `"madry"`.
    public let method: String
    /// PGD iterations.
    public let steps: Int
    /// K of the EOT attack actually used (1 for a model that draws no noise at its test σ).
    public let eotSamples: Int
    /// K of the TTN prediction (0: none).
    public let ttnSamples: Int
    /// The model's test σ: the σ of the attack's gradient passes and of the TTN prediction.
    public let testSigma: Float
    /// Images attacked.
    public let count: Int
    /// Key of the attack and TTN noise.
    public let seed: UInt64
    /// One point per ε, in the order given.
    public let points: [RobustAccuracyPoint]
    /// Wall-clock seconds.
    public let seconds: Double

    /// Creates a result.
    public init(norm: AttackNorm, method: String, steps: Int, eotSamples: Int, ttnSamples: Int, testSigma: Float,
                count: Int, seed: UInt64, points: [RobustAccuracyPoint], seconds: Double) {
        self.norm = norm
        self.method = method
        self.steps = steps
        self.eotSamples = eotSamples
        self.ttnSamples = ttnSamples
        self.testSigma = testSigma
        self.count = count
        self.seed = seed
        self.points = points
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case norm, method, steps, eotSamples = "eot_samples", ttnSamples = "ttn_samples", testSigma = "test_sigma"
        case count, seed, points, seconds
    }
}

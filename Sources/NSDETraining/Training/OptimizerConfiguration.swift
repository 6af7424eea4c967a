import NSDENN

/// The optimiser of a training run and its hyper-parameters.
public struct OptimizerConfiguration: Codable, Equatable, Sendable {
    /// Which update rule.
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// ``SGD`` with momentum (the paper's).
        case sgd
        /// ``Adam``.
        case adam
    }

    /// The update rule.
    public var kind: Kind
    /// The base learning rate (the schedule scales it per epoch).
    public var learningRate: Float
    /// SGD momentum μ (paper 0.9); ignored by Adam.
    public var momentum: Float
    /// L2 weight decay λ added to the gradient (paper 0).
    public var weightDecay: Float

    public init(kind: Kind, learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    /// SGD, default the paper's learning rate 0.1, momentum 0.9, no weight decay.
    public static func sgd(learningRate: Float = 0.1, momentum: Float = 0.9, weightDecay: Float = 0) -> OptimizerConfiguration {
        OptimizerConfiguration(kind: .sgd, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
    }

    /// Adam (β = 0.9, 0.999), default learning rate 10⁻³.
    public static func adam(learningRate: Float = 1e-3, weightDecay: Float = 0) -> OptimizerConfiguration {
        OptimizerConfiguration(kind: .adam, learningRate: learningRate, momentum: 0, weightDecay: weightDecay)
    }

    /// The default learning rate of `kind`: 0.1 for SGD, 10⁻³ for Adam.
    public static func defaultLearningRate(_ kind: Kind) -> Float { kind == .sgd ? 0.1 : 1e-3 }

    /// Throws unless the learning rate is finite and positive and momentum and weight decay are
    /// finite and ≥ 0 (momentum < 1).
    public func validate() throws(TrainingError) {
        guard learningRate.isFinite, learningRate > 0 else {
            throw .invalidParameter(name: "lr", value: "\(learningRate)", expected: "a finite value > 0")
        }
        guard momentum.isFinite, momentum >= 0, momentum < 1 else {
            throw .invalidParameter(name: "momentum", value: "\(momentum)", expected: "a value in [0, 1)")
        }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw .invalidParameter(name: "weight_decay", value: "\(weightDecay)", expected: "a finite value ≥ 0")
        }
    }

    /// A new optimiser over `parameters` (its learning rate is set per epoch by the trainer).
    public func makeOptimizer(parameters: [Parameter]) -> any Optimizer {
        switch kind {
        case .sgd: return SGD(parameters: parameters, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        case .adam: return Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, learningRate = "lr", momentum, weightDecay = "weight_decay"
    }
}

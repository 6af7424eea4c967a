import NSDETensor

/// What ``Trainer/run()`` (and ``train(_:dataDirectory:outputDirectory:progress:)``) returns.
public struct TrainingResult: Sendable {
    /// The run's configuration.
    public let configuration: TrainingConfiguration
    /// Metrics of every completed epoch, including those before a resume.
    public let history: [EpochMetrics]
    /// The epoch the run resumed after (0 for a fresh run).
    public let resumedFromEpoch: Int
    /// The trained model's parameters (PyTorch `state_dict` names).
    public let stateDict: [String: Tensor]
    /// Number of trainable scalars.
    public let parameterCount: Int
    /// Wall-clock seconds of this call (not of epochs before a resume).
    public let seconds: Double

    public init(configuration: TrainingConfiguration, history: [EpochMetrics], resumedFromEpoch: Int,
                stateDict: [String: Tensor], parameterCount: Int, seconds: Double) {
        self.configuration = configuration
        self.history = history
        self.resumedFromEpoch = resumedFromEpoch
        self.stateDict = stateDict
        self.parameterCount = parameterCount
        self.seconds = seconds
    }

    /// The last epoch's metrics (`nil` if no epoch has completed).
    public var final: EpochMetrics? { history.last }
    /// The best test accuracy over the epochs, or `nil` without a test set.
    public var bestTestAccuracy: Double? { history.compactMap(\.testAccuracy).max() }
}


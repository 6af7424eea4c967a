import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor

/// Progress reports of ``runNoiseComparison(_:dataDirectory:outputDirectory:progress:)``.
public enum NoiseComparisonEvent: Sendable {
    /// Model `index` (0-based) of `count` starts training (or resumes from its checkpoint).
    case modelStarted(index: Int, count: Int, setting: NoiseSetting, resumingAfterEpoch: Int)
    /// A training event of the current model.
    case training(TrainingEvent)
    /// The current model's final evaluation: `done` of `total` test images.
    case evaluating(done: Int, total: Int)
    /// The current model is trained and evaluated.
    case modelFinished(NoiseComparisonRow)
}

/// One trained and evaluated model of a noise comparison.
public struct NoiseComparisonRow: Sendable {
    /// Its noise and σ.
    public let setting: NoiseSetting
    /// Its `nsde train`-style run directory (checkpoint, `metrics.jsonl`), or `nil`.
    public let runDirectory: URL?
    /// Trainable scalars.
    public let parameters: Int
    /// Metrics of every epoch (the training curves).
    public let history: [EpochMetrics]
    /// Final test accuracy without (σ = 0) and with test-time noise.
    public let evaluation: EvaluationResult
    /// The trained weights (PyTorch `state_dict` names).
    public let stateDict: [String: Tensor]
    /// Seconds spent training (the epochs' training passes, summed over the history).
    public var trainSeconds: Double { history.reduce(0) { $0 + $1.trainSeconds } }
}

/// Trains every model of `configuration` with the same seed and budget, then evaluates each on
/// the test set (or its ``TrainingConfiguration/testSubset``) without and with test-time noise.
///
/// With an `outputDirectory`, model *i* trains into `outputDirectory/<runName>` (a complete `nsde
/// train` run directory that `nsde eval`, `nsde attack` and `--resume` accept). A model whose
/// directory already holds a checkpoint of the same run continues from it (or, when complete, is
/// only evaluated), so an interrupted experiment restarts where it stopped; a checkpoint of a
/// different run is an error rather than being overwritten.
///
/// - Parameters:
///   - configuration: models and budget.
///   - dataDirectory: the dataset's directory (`nil`: its default place).
///   - outputDirectory: where the runs go (`nil`: nothing is written; no resumption).
///   - progress: called with each ``NoiseComparisonEvent``.
/// - Returns: one row per model, in ``NoiseComparisonConfiguration/models`` order.
/// - Throws: ``ExperimentError``, ``TrainingError`` (e.g. `configurationMismatch` naming the
///   directory and the differing settings), `DataError`, and solver errors (a diverged model).
public func runNoiseComparison(_ configuration: NoiseComparisonConfiguration, dataDirectory: String? = nil,
                               outputDirectory: URL? = nil,
                               progress: ((NoiseComparisonEvent) -> Void)? = nil) throws -> NoiseComparisonResult {
    try configuration.validate()
    let start = Date()
    var base = configuration.training
    base.dataDirectory = dataDirectory ?? base.dataDirectory
    var test = try TrainingData.load(base.dataset, split: .test, dataDirectory: base.dataDirectory)
    if let n = base.testSubset, n < test.count { test = test.subset(n) }

    var rows: [NoiseComparisonRow] = []
    for (index, setting) in configuration.models.enumerated() {
        var run = configuration.training(for: setting)
        run.dataDirectory = base.dataDirectory
        let directory = outputDirectory?.appendingPathComponent(setting.runName, isDirectory: true)
        var resumeAfter = 0
        if let directory, Checkpoint.exists(in: directory) {
            let stored = try Checkpoint.readState(from: directory)
            guard run.isSameRun(as: stored.configuration) else {
                throw TrainingError.configurationMismatch(directory: directory.path, differences: run.differences(from: stored.configuration))
            }
            resumeAfter = stored.epoch
        }
        progress?(.modelStarted(index: index, count: configuration.models.count, setting: setting, resumingAfterEpoch: resumeAfter))
        let trained = try train(run, dataDirectory: run.dataDirectory, outputDirectory: directory, resume: resumeAfter > 0) {
            progress?(.training($0))
        }
        let model = run.model.makeModel()
        try model.loadStateDict(trained.stateDict)
        progress?(.evaluating(done: 0, total: test.count))
        let evaluation = try evaluate(model, on: test, testSigma: run.model.testSigma, ttnSamples: configuration.ttnSamples,
                                      batchSize: run.evaluationBatchSize, seed: configuration.ttnSeed) { done, total in
            progress?(.evaluating(done: done, total: total))
        }
        let row = NoiseComparisonRow(setting: setting, runDirectory: directory, parameters: trained.parameterCount,
                                     history: trained.history, evaluation: evaluation, stateDict: trained.stateDict)
        rows.append(row)
        progress?(.modelFinished(row))
    }
    return NoiseComparisonResult(configuration: configuration, dataset: base.dataset, rows: rows,
                                 seconds: Date().timeIntervalSince(start))
}

import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDEPlot
import NSDETensor
import NSDETraining

/// Progress reports of ``runNoiseComparison(_:dataDirectory:outputDirectory:shard:communicator:progress:)``.
public enum NoiseComparisonEvent: Sendable {
    /// Run `index` (0-based) of `count` (a model and a seed) starts training (or resumes from its
    /// checkpoint).
    case modelStarted(index: Int, count: Int, setting: NoiseSetting, seed: UInt64, resumingAfterEpoch: Int)
    /// A training event of the current run.
    case training(TrainingEvent)
    /// The current run's final evaluation: `done` of `total` images.
    case evaluating(done: Int, total: Int)
    /// The current run is trained and evaluated.
    case modelFinished(NoiseComparisonRow)
}

/// One trained and evaluated run (a model and a seed) of a noise comparison.
public struct NoiseComparisonRow: Sendable {
    /// Its noise and σ.
    public let setting: NoiseSetting
    /// The run's seed.
    public let seed: UInt64
    /// Its `nsde train`-style run directory (checkpoint, `metrics.jsonl`), or `nil`.
    public let runDirectory: URL?
    /// Trainable scalars.
    public let parameters: Int
    /// Metrics of every epoch (the training curves).
    public let history: [EpochMetrics]
    /// Final accuracy without (σ = 0) and with test-time noise on the comparison's
    /// ``NoiseComparisonConfiguration/evaluationSplit``: the test set (or its subset), or for a σ
    /// search the validation split.
    public let evaluation: EvaluationResult
    /// Clean accuracy (σ = 0, no augmentation) on the first
    /// ``NoiseComparisonConfiguration/trainEvaluationSize`` examples of the run's training subset.
    public let trainEvaluation: EvaluationResult?
    /// Final accuracy on the validation split without and with test-time noise, or `nil` without one
    /// (and when ``evaluation`` already is the validation split's).
    public let validation: EvaluationResult?
    /// The trained weights (PyTorch `state_dict` names).
    public let stateDict: [String: Tensor]
    /// The labels of the images ``evaluation`` predicted, in order (for paired comparisons).
    public let labels: [Int]
    /// Seconds spent training (the epochs' training passes, summed over the history).
    public var trainSeconds: Double { history.reduce(0) { $0 + $1.trainSeconds } }
    /// Train − test accuracy without test-time noise (fractions), or `nil`.
    public var generalizationGap: Double? { trainEvaluation.map { $0.accuracy - evaluation.accuracy } }
}

/// A trained run of a comparison, with the datasets its trainer used.
struct ComparisonRun {
    let trainer: Trainer
    let result: TrainingResult
}

/// The data one comparison shares between its runs: the whole training and test splits.
struct ComparisonData {
    let train: InMemoryImageDataset
    let test: InMemoryImageDataset

    init(_ configuration: TrainingConfiguration) throws {
        (train, test) = try TrainingData.load(configuration, dataDirectory: configuration.dataDirectory)
    }
}

/// Trains (or resumes, or only reloads when complete) the run `run` in `directory`.
///
/// - Throws: ``TrainingError/configurationMismatch(directory:differences:)`` when `directory` holds
///   a different run, and the trainer's errors.
func trainComparisonRun(_ run: TrainingConfiguration, data: ComparisonData, directory: URL?,
                        communicator: any Communicator = SingleProcess.shared,
                        started: (_ resumingAfterEpoch: Int) -> Void, progress: ((TrainingEvent) -> Void)?) throws -> ComparisonRun {
    var resumeAfter = 0
    if let directory, Checkpoint.exists(in: directory) {
        let stored = try Checkpoint.readState(from: directory)
        guard run.isSameRun(as: stored.configuration) else {
            throw TrainingError.configurationMismatch(directory: directory.path, differences: run.differences(from: stored.configuration))
        }
        resumeAfter = stored.epoch
    }
    started(resumeAfter)
    let trainer: Trainer
    if resumeAfter > 0, let directory {
        trainer = try Trainer.resume(from: directory, trainSet: data.train, testSet: data.test, configuration: run,
                                     communicator: communicator)
    } else {
        trainer = try Trainer(configuration: run, trainSet: data.train, testSet: data.test, outputDirectory: directory,
                              communicator: communicator)
    }
    trainer.progress = progress
    return ComparisonRun(trainer: trainer, result: try trainer.run())
}

/// Trains every model of `configuration` once per seed with the same budget, then evaluates each
/// run on the test set (or its ``TrainingConfiguration/testSubset``) without and with test-time
/// noise, on its validation split (if any) likewise, and on its training subset without noise.
///
/// With an `outputDirectory`, each run trains into `outputDirectory/<runPath>` (see
/// ``NoiseComparisonConfiguration/runPath(for:seed:)``; a complete `nsde train` run directory that
/// `nsde eval`, `nsde attack` and `--resume` accept). A run whose directory already holds a
/// checkpoint of the same run continues from it (or, when complete, is only evaluated), so an
/// interrupted experiment restarts where it stopped; a checkpoint of a different run is an error
/// rather than being overwritten.
///
/// - Parameters:
///   - configuration: models, seeds and budget.
///   - dataDirectory: the dataset's directory (`nil`: its default place).
///   - outputDirectory: where the runs go (`nil`: nothing is written; no resumption).
///   - shard: train and evaluate only the runs of this shard (run *i* of the models × seeds, in
///     order, belongs to shard *i* mod count), so that several processes share the work; a final
///     call without a shard then only reads their results (the final evaluation of a run is cached
///     in its directory as `comparison-eval.json`).
///   - communicator: the processes that run each run together (default: this one): a run not yet
///     complete is trained data-parallel and every evaluation is dealt over them (rank 0 alone
///     writes the run directory), so every process gets every row; a complete run is only read,
///     on every process. Every process must call with the same arguments. (To spread the runs
///     over processes instead, give each its `shard` and a communicator of one process.)
///   - progress: called with each ``NoiseComparisonEvent``.
/// - Returns: one row per model and seed (of the shard, if given), models in ``NoiseComparisonConfiguration/models`` order,
///   seeds in ``NoiseComparisonConfiguration/seeds`` order within a model.
/// - Throws: ``ExperimentError``, ``TrainingError`` (e.g. `configurationMismatch` naming the
///   directory and the differing settings), `DataError`, and solver errors (a diverged model).
public func runNoiseComparison(_ configuration: NoiseComparisonConfiguration, dataDirectory: String? = nil,
                               outputDirectory: URL? = nil, shard: ComparisonShard? = nil,
                               communicator: any Communicator = SingleProcess.shared,
                               progress: ((NoiseComparisonEvent) -> Void)? = nil) throws -> NoiseComparisonResult {
    try configuration.validate()
    let start = Date()
    var base = configuration.training
    base.dataDirectory = dataDirectory ?? base.dataDirectory
    let data = try ComparisonData(base)

    var rows: [NoiseComparisonRow] = []
    let count = configuration.models.count * configuration.seeds.count
    for (m, setting) in configuration.models.enumerated() {
        for (s, seed) in configuration.seeds.enumerated() {
            let index = m * configuration.seeds.count + s
            if let shard, index % shard.count != shard.index { continue }
            var run = configuration.training(for: setting, seed: seed)
            run.dataDirectory = base.dataDirectory
            let directory = outputDirectory?.appendingPathComponent(configuration.runPath(for: setting, seed: seed), isDirectory: true)
            let trained = try trainComparisonRun(run, data: data, directory: directory, communicator: communicator, started: { resumeAfter in
                progress?(.modelStarted(index: index, count: count, setting: setting, seed: seed,
                                        resumingAfterEpoch: resumeAfter))
            }, progress: { progress?(.training($0)) })
            let trainer = trained.trainer
            let model = trainer.model
            let report: (Int, Int) -> Void = { done, total in progress?(.evaluating(done: done, total: total)) }
            func evaluateSet(_ set: InMemoryImageDataset, ttn: Int) throws -> EvaluationResult {
                report(0, set.count)
                return try evaluate(model, on: set, testSigma: run.model.testSigma, ttnSamples: ttn, batchSize: run.evaluationBatchSize,
                             seed: configuration.ttnSeed, communicator: communicator, progress: report)
            }
            let key = ComparisonEvaluation.Key(configuration, run: run, epoch: trainer.epochsCompleted)
            let evaluated: ComparisonEvaluation
            if let directory, let cached = ComparisonEvaluation.read(from: directory, key: key) {
                evaluated = cached
            } else {
                var evaluation: EvaluationResult, validation: EvaluationResult?
                switch configuration.evaluationSplit {
                case .test:
                    guard let testSet = trainer.testSet else {
                        throw ExperimentError.invalidParameter(name: "test_subset", value: "0", expected: "test images to evaluate the models on")
                    }
                    evaluation = try evaluateSet(testSet, ttn: configuration.ttnSamples)
                    validation = try trainer.validationSet.map { try evaluateSet($0, ttn: configuration.ttnSamples) }
                case .validation:
                    guard let validationSet = trainer.validationSet else {
                        throw ExperimentError.invalidParameter(name: "val_size", value: "0", expected: "a validation split to evaluate on")
                    }
                    evaluation = try evaluateSet(validationSet, ttn: configuration.ttnSamples)
                    validation = nil
                }
                let trainEvaluation = configuration.trainEvaluationSize > 0
                    ? try evaluateSet(trainer.trainSet.subset(configuration.trainEvaluationSize), ttn: 0) : nil
                evaluated = ComparisonEvaluation(key: key, evaluation: evaluation, validation: validation, train: trainEvaluation)
                if let directory, communicator.isRoot { try evaluated.write(to: directory) }
            }
            let evaluation = evaluated.evaluation, validation = evaluated.validation, trainEvaluation = evaluated.train
            let labels = (configuration.evaluationSplit == .test ? trainer.testSet : trainer.validationSet)?.labels ?? []
            let row = NoiseComparisonRow(setting: setting, seed: seed, runDirectory: directory, parameters: trained.result.parameterCount,
                                         history: trained.result.history, evaluation: evaluation, trainEvaluation: trainEvaluation,
                                         validation: validation, stateDict: trained.result.stateDict, labels: labels)
            rows.append(row)
            progress?(.modelFinished(row))
        }
    }
    return NoiseComparisonResult(configuration: configuration, dataset: base.dataset, rows: rows,
                                 seconds: Date().timeIntervalSince(start), outputDirectory: outputDirectory)
}

/// One part of a comparison's runs, for sharing the work between processes: run *i* (models ×
/// seeds, in order) belongs to shard *i* mod ``count``.
public struct ComparisonShard: Equatable, Sendable, CustomStringConvertible {
    /// This shard, in `0..<count`.
    public let index: Int
    /// The number of shards.
    public let count: Int

    /// - Precondition: `0 <= index < count`.
    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "ComparisonShard: \(index) of \(count)")
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (1-based I, e.g. `1/2`), or returns `nil`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 1, i <= n else { return nil }
        self.init(index: i - 1, count: n)
    }

    /// `I/N`, 1-based.
    public var description: String { "\(index + 1)/\(count)" }
}

/// A run's final evaluation in a comparison, cached in its directory (`comparison-eval.json`) so
/// that reading the results again (another shard's report, a re-run) does not evaluate again.
/// Valid only for the same ``Key``: the run's configuration, the epoch and the evaluation settings.
struct ComparisonEvaluation: Codable {
    struct Key: Codable, Equatable {
        let run: TrainingConfiguration
        let epoch: Int
        let split: String
        let ttnSamples: Int
        let ttnSeed: UInt64
        let trainEvaluationSize: Int

        init(_ c: NoiseComparisonConfiguration, run: TrainingConfiguration, epoch: Int) {
            self.run = run.withoutResumableSettings
            self.epoch = epoch
            split = c.evaluationSplit.rawValue
            ttnSamples = c.ttnSamples
            ttnSeed = c.ttnSeed
            trainEvaluationSize = c.trainEvaluationSize
        }
    }
    let key: Key
    let evaluation: EvaluationResult
    let validation: EvaluationResult?
    let train: EvaluationResult?

    static let fileName = "comparison-eval.json"

    /// The cached evaluation in `directory` if it exists, decodes, and has `key`.
    static func read(from directory: URL, key: Key) -> ComparisonEvaluation? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(fileName)),
              let cached = try? JSONDecoder().decode(ComparisonEvaluation.self, from: data), cached.key == key else { return nil }
        return cached
    }

    func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: directory.appendingPathComponent(Self.fileName))
    }
}

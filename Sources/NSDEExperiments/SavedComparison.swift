import Foundation
import NSDEData
import NSDEModels
import NSDETraining

/// Evaluates trained runs that already exist (e.g. the converged checkpoints shipped for the
/// demo) as one noise comparison: each directory's classifier is evaluated on the same test
/// images without and with test-time noise, so the usual tables, paired differences and JSON
/// apply. Nothing is trained.
///
/// - Parameters:
///   - directories: `nsde train` run directories (`checkpoint.json`, `model.safetensors`), all
///     on the same dataset; a noisy model's TTN uses its stored test σ.
///   - dataDirectory: the dataset's directory (`nil`: the first run's stored directory, else the
///     dataset's default place).
///   - testSubset: evaluate the first this many test images (`nil`: all).
///   - ttnSamples: K, noisy passes per test image for TTN.
///   - preset: the name reports give the comparison.
///   - progress: called with `.modelStarted`, `.evaluating` and `.modelFinished` events.
/// - Throws: ``TrainingError`` for a missing or corrupt checkpoint, ``ExperimentError`` when the
///   runs are on different datasets, `DataError`.
public func evaluateSavedRuns(_ directories: [URL], dataDirectory: String? = nil, testSubset: Int? = nil, ttnSamples: Int,
                              preset: String, progress: ((NoiseComparisonEvent) -> Void)? = nil) throws -> NoiseComparisonResult {
    guard let firstDirectory = directories.first else {
        throw ExperimentError.invalidParameter(name: "runs", value: "none", expected: "at least one run directory")
    }
    let start = Date()
    let first = try Checkpoint.readState(from: firstDirectory).configuration
    var test = try TrainingData.load(first.dataset, split: .test, dataDirectory: dataDirectory ?? first.dataDirectory)
    if let n = testSubset, n < test.count { test = test.subset(n) }
    var rows: [NoiseComparisonRow] = [], settings: [NoiseSetting] = []
    for (index, directory) in directories.enumerated() {
        let (model, state) = try Checkpoint.loadClassifier(from: directory)
        let c = state.configuration
        guard c.dataset == first.dataset else {
            throw ExperimentError.invalidParameter(name: "runs", value: "\(directory.path) (\(c.dataset))",
                                                   expected: "runs on one dataset (\(first.dataset))")
        }
        let setting = NoiseSetting(noise: c.model.noise, sigma: c.model.testSigma)
        progress?(.modelStarted(index: index, count: directories.count, setting: setting, seed: c.seed, resumingAfterEpoch: state.epoch))
        progress?(.evaluating(done: 0, total: test.count))
        let evaluation = try evaluate(model, on: test, testSigma: c.model.testSigma, ttnSamples: ttnSamples,
                                      batchSize: c.evaluationBatchSize, seed: 0) { done, total in
            progress?(.evaluating(done: done, total: total))
        }
        let row = NoiseComparisonRow(setting: setting, seed: c.seed, runDirectory: directory, parameters: model.parameterCount,
                                     history: state.history, evaluation: evaluation, trainEvaluation: nil, validation: nil,
                                     stateDict: model.stateDict(), labels: test.labels)
        rows.append(row)
        settings.append(setting)
        progress?(.modelFinished(row))
    }
    var training = first
    training.testSubset = testSubset
    let configuration = NoiseComparisonConfiguration(preset: preset, training: training, models: settings, ttnSamples: ttnSamples,
                                                     seeds: [first.seed], trainEvaluationSize: 0)
    return NoiseComparisonResult(configuration: configuration, dataset: first.dataset, rows: rows, seconds: Date().timeIntervalSince(start))
}

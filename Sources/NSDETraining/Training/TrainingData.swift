import Foundation
import NSDEData

/// Loads the training and test splits of a registered dataset for a ``TrainingConfiguration``.
///
/// The one place the experiments layer names the data registry, so that `nsde train`, `nsde eval`
/// and in-process experiments resolve `--data-dir` the same way: the given directory, else the
/// dataset's default (Fashion-MNIST: `/usr/share/datasets/fashion-mnist`).
public enum TrainingData {
    /// The training and test splits of `configuration.dataset` (whole; the ``Trainer`` takes the
    /// subsets).
    ///
    /// - Throws: `DataError` (unknown name, missing directory or files, format errors).
    /// - Parameter dataDirectory: the directory (`nil`: ``TrainingConfiguration/dataDirectory``,
    ///   else the dataset's default).
    public static func load(_ configuration: TrainingConfiguration, dataDirectory: String? = nil)
        throws -> (train: InMemoryImageDataset, test: InMemoryImageDataset) {
        let directory = dataDirectory ?? configuration.dataDirectory
        return (try load(configuration.dataset, split: .train, dataDirectory: directory),
                try load(configuration.dataset, split: .test, dataDirectory: directory))
    }

    /// One split of the dataset called `name`.
    ///
    /// - Throws: `DataError`.
    public static func load(_ name: String, split: DatasetSplit, dataDirectory: String? = nil) throws -> InMemoryImageDataset {
        try DatasetRegistry.load(named: name, split: split, dataDirectory: dataDirectory)
    }
}

/// Trains `configuration` on its registered dataset: loads the data, then runs a new ``Trainer``
/// (or, with `resume`, continues the run in `outputDirectory` up to `configuration.epochs`).
///
/// The entry point for experiments that train several models in one process (Table 1).
///
/// - Parameters:
///   - configuration: the run.
///   - dataDirectory: the dataset's directory (`nil`: the configuration's
///     ``TrainingConfiguration/dataDirectory``, else the dataset's default).
///   - outputDirectory: where checkpoints and `metrics.jsonl` go (`nil`: nowhere).
///   - resume: continue the run saved in `outputDirectory` instead of starting one.
///   - progress: called with each ``TrainingEvent``.
/// - Returns: the metrics of every epoch and the trained weights.
/// - Throws: `DataError`, ``TrainingError``, ``TrainingError``.
public func train(_ configuration: TrainingConfiguration, dataDirectory: String? = nil, outputDirectory: URL? = nil,
                  resume: Bool = false, progress: ((TrainingEvent) -> Void)? = nil) throws -> TrainingResult {
    var configuration = configuration
    configuration.dataDirectory = dataDirectory ?? configuration.dataDirectory
    let (train, test) = try TrainingData.load(configuration, dataDirectory: configuration.dataDirectory)
    let trainer: Trainer
    if resume, let outputDirectory {
        trainer = try Trainer.resume(from: outputDirectory, trainSet: train, testSet: test, configuration: configuration)
    } else {
        trainer = try Trainer(configuration: configuration, trainSet: train, testSet: test, outputDirectory: outputDirectory)
    }
    trainer.progress = progress
    return try trainer.run()
}

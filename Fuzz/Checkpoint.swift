import Foundation
import NSDETraining
import NSDEModels
import NSDETensor

/// Fuzzes the reading of a training checkpoint's `checkpoint.json`
/// (``Checkpoint/readState(from:)``: JSON decoding of ``CheckpointState`` and everything it
/// holds — training, model, optimizer and schedule configurations with their custom decoders,
/// epoch metrics, digests — and the format/version check). The reader takes a directory, so
/// each input is written to `checkpoint.json` in a scratch folder in `/dev/shm`.
///
/// Seeds: `checkpoint.json` files written by ``Checkpoint/write(to:)`` for small SGD and Adam
/// runs, with and without history.
enum CheckpointFuzz: FuzzTarget {
    static func seeds() throws -> [String: [UInt8]] {
        let folder = Scratch.folder.appendingPathComponent("seed", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let metrics = EpochMetrics(epoch: 1, learningRate: 0.1, trainLoss: 2.3, trainAccuracy: 0.1,
                                   testAccuracy: 0.12, testLoss: 2.25, seconds: 1.5, trainSeconds: 1.2,
                                   imagesPerSecond: 800, trainExamples: 192, testExamples: 100,
                                   validationAccuracy: nil, validationLoss: nil, validationExamples: 0)
        let runs: [(String, TrainingConfiguration, [EpochMetrics])] = [
            ("sgd", TrainingConfiguration(dataset: "fashion-mnist",
                                          model: ModelConfiguration(inChannels: 1, width: 8, steps: 2),
                                          schedule: .staged(stages: [1, 1]), batchSize: 32,
                                          trainSubset: 200, testSubset: 100), [metrics]),
            ("adam", TrainingConfiguration(dataset: "cifar10",
                                           model: ModelConfiguration(noise: .dropout, sigma: 0.3, steps: 3),
                                           optimizer: .adam(), schedule: .staged(stages: [2]), seed: 7), []),
        ]
        var out = [String: [UInt8]]()
        for (name, configuration, history) in runs {
            let kind: OptimizerConfiguration.Kind = name == "adam" ? .adam : .sgd
            let state = CheckpointState(
                epoch: history.count, configuration: configuration,
                optimizer: OptimizerRecord(kind: kind, learningRate: 0.1, file: "optimizer.safetensors",
                                           parameterNames: ["stem.0.weight", "stem.0.bias"]),
                schedule: SchedulePosition(nextEpoch: history.count, nextLearningRate: 0.1),
                dataLoader: DataLoaderPosition(seed: 42, nextEpoch: history.count, batchSize: 32,
                                               batchesPerEpoch: 6, dropLast: true),
                random: RandomState(seeds: TrainingSeeds(seed: configuration.seed), noiseCounter: 12,
                                    initializerCounter: 3),
                data: DataFingerprint(trainExamples: 200, trainDigest: "1f36cc189f25ecc9",
                                      testExamples: 100, testDigest: "37c71400afd1698a"),
                files: [:], history: history, parameterCount: 20,
                savedAt: Date(timeIntervalSince1970: 1_700_000_000))
            let model = ["stem.0.weight": Tensor(shape: [2, 1, 3, 3], scalars: [Float](repeating: 0.1, count: 18)),
                         "stem.0.bias": Tensor(shape: [2], scalars: [0, 0])]
            try Checkpoint(state: state, model: model, optimizer: model).write(to: folder)
            out["\(name)-checkpoint.json"] = Array(try Data(contentsOf: folder.appendingPathComponent("checkpoint.json")))
        }
        return out
    }

    static func fuzz(_ input: UnsafeRawBufferPointer) throws {
        _ = Scratch.file(Checkpoint.stateFileName, input)
        _ = try Checkpoint.readState(from: Scratch.folder)
    }
}

typealias Fuzzed = CheckpointFuzz

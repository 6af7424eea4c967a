import Foundation
import NSDEPlot
import NSDETensor

/// The contents of `checkpoint.json`: where a training run stands after a completed epoch, and
/// everything needed to continue it bit-identically (see ``Checkpoint``).
///
/// The tensors live beside it: the model's parameters in `model.safetensors` (PyTorch
/// `state_dict` names, loadable by `safetensors.torch.load_file`) and the optimiser's buffers in
/// `optimizer.safetensors` (keys `"<parameter index>.momentum"` for SGD, `.exp_avg`/`.exp_avg_sq`
/// and `step` for Adam; ``OptimizerRecord/parameterNames`` maps indices to names). ``files``
/// records each file's size and FNV-1a digest, so a checkpoint.json is only ever used with the
/// tensors it was written with.
public struct CheckpointState: Codable, Equatable, Sendable {
    /// `"nsde-checkpoint"`.
    public var format: String
    /// The layout version (1).
    public var version: Int
    /// Epochs completed; training continues with epoch index ``epoch`` (0-based).
    public var epoch: Int
    /// The run's configuration.
    public var configuration: TrainingConfiguration
    /// The optimiser's state outside the tensors.
    public var optimizer: OptimizerRecord
    /// The learning-rate schedule's position.
    public var schedule: SchedulePosition
    /// The data loader's position.
    public var dataLoader: DataLoaderPosition
    /// Seeds and counters of every random stream.
    public var random: RandomState
    /// Fingerprints of the training and test data, checked on resume.
    public var data: DataFingerprint
    /// Size and digest of each tensor file, by file name.
    public var files: [String: FileDigest]
    /// Metrics of every completed epoch (`metrics.jsonl` is rebuilt from them on resume).
    public var history: [EpochMetrics]
    /// Trainable scalars in the model.
    public var parameterCount: Int
    /// When the checkpoint was written (ISO 8601, UTC).
    public var savedAt: String
    /// Threads of the process that wrote the checkpoint (`Parallel.threadCount`), or `nil` in a
    /// checkpoint written before this field existed. A run resumes bit-identically only with the
    /// same thread count (the kernels split their reductions by thread), so a resume with another
    /// count is reported as a ``TrainingEvent/warning(_:)``.
    public var threads: Int?
    /// Processes of the data-parallel job that wrote the checkpoint (`nsde train --distributed`),
    /// or `nil` for one process (and in checkpoints written before this field existed). Like the
    /// thread count, it fixes the order of the gradient sums, so a resume with another count is
    /// reported as a ``TrainingEvent/warning(_:)``.
    public var ranks: Int?

    /// The format marker.
    public static let formatName = "nsde-checkpoint"
    /// The current layout version.
    public static let currentVersion = 1

    public init(epoch: Int, configuration: TrainingConfiguration, optimizer: OptimizerRecord, schedule: SchedulePosition,
                dataLoader: DataLoaderPosition, random: RandomState, data: DataFingerprint, files: [String: FileDigest],
                history: [EpochMetrics], parameterCount: Int, threads: Int? = nil, ranks: Int? = nil,
                savedAt: Date = Date()) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.epoch = epoch
        self.configuration = configuration
        self.optimizer = optimizer
        self.schedule = schedule
        self.dataLoader = dataLoader
        self.random = random
        self.data = data
        self.files = files
        self.history = history
        self.parameterCount = parameterCount
        self.threads = threads
        self.ranks = ranks
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        self.savedAt = formatter.string(from: savedAt)
    }

    enum CodingKeys: String, CodingKey {
        case format, version, epoch, configuration, optimizer, schedule, dataLoader = "data_loader", random, data, files
        case history, parameterCount = "parameter_count", savedAt = "saved_at", threads, ranks
    }

    /// Why the fields disagree with each other, or `nil` when they agree: the epoch must be ≥ 0,
    /// the history must list epochs 1 ... epoch in order, and the schedule and data loader must
    /// continue at that epoch. A hand-edited or damaged file would otherwise resume at the wrong
    /// epoch.
    public var inconsistency: String? {
        guard epoch >= 0 else { return "epoch \(epoch) is negative" }
        guard history.count == epoch, history.enumerated().allSatisfy({ $0.element.epoch == $0.offset + 1 }) else {
            return "epoch \(epoch) but the history lists epochs \(clipForMessage(history.map { String($0.epoch) }.joined(separator: ",")))"
                + " (expected 1...\(epoch) in order)"
        }
        if let threads, threads < 1 { return "threads \(threads) is not positive" }
        if let ranks, ranks < 2 { return "ranks \(ranks) is not a count of several processes" }
        guard schedule.nextEpoch == epoch, dataLoader.nextEpoch == epoch else {
            return "epoch \(epoch) but the schedule continues at epoch \(schedule.nextEpoch) and the data loader at \(dataLoader.nextEpoch)"
        }
        return nil
    }
}

/// The optimiser's state outside its tensors.
public struct OptimizerRecord: Codable, Equatable, Sendable {
    /// `sgd` or `adam`.
    public var kind: OptimizerConfiguration.Kind
    /// The learning rate of the last completed epoch.
    public var learningRate: Float
    /// The tensor file (`optimizer.safetensors`).
    public var file: String
    /// Parameter names in the optimiser's order: index i of a buffer key `"i.momentum"` is
    /// `parameterNames[i]`.
    public var parameterNames: [String]

    public init(kind: OptimizerConfiguration.Kind, learningRate: Float, file: String, parameterNames: [String]) {
        self.kind = kind
        self.learningRate = learningRate
        self.file = file
        self.parameterNames = parameterNames
    }

    enum CodingKeys: String, CodingKey { case kind, learningRate = "lr", file, parameterNames = "parameter_names" }
}

/// Where the learning-rate schedule stands.
public struct SchedulePosition: Codable, Equatable, Sendable {
    /// The next epoch's index (0-based), equal to the epochs completed.
    public var nextEpoch: Int
    /// The learning rate the next epoch will use.
    public var nextLearningRate: Float

    public init(nextEpoch: Int, nextLearningRate: Float) {
        self.nextEpoch = nextEpoch
        self.nextLearningRate = nextLearningRate
    }

    enum CodingKeys: String, CodingKey { case nextEpoch = "next_epoch", nextLearningRate = "next_lr" }
}

/// Where the data loader stands. Its shuffle and augmentation are pure functions of (seed,
/// epoch), so the next epoch's index is all the state there is.
public struct DataLoaderPosition: Codable, Equatable, Sendable {
    /// The loader's seed.
    public var seed: UInt64
    /// The next epoch's index (0-based): its shuffle uses Philox stream 2·e, its augmentation 2·e + 1.
    public var nextEpoch: Int
    /// Examples per batch.
    public var batchSize: Int
    /// Batches per epoch.
    public var batchesPerEpoch: Int
    /// Whether the last partial batch is dropped.
    public var dropLast: Bool

    public init(seed: UInt64, nextEpoch: Int, batchSize: Int, batchesPerEpoch: Int, dropLast: Bool) {
        self.seed = seed
        self.nextEpoch = nextEpoch
        self.batchSize = batchSize
        self.batchesPerEpoch = batchesPerEpoch
        self.dropLast = dropLast
    }

    enum CodingKeys: String, CodingKey {
        case seed, nextEpoch = "next_epoch", batchSize = "batch_size", batchesPerEpoch = "batches_per_epoch", dropLast = "drop_last"
    }
}

/// The keys and counters of the run's random streams.
public struct RandomState: Codable, Equatable, Sendable {
    /// The seeds derived from the configuration's seed.
    public var seeds: TrainingSeeds
    /// ``PaperClassifier/noiseCounter``: the Brownian stream of the next noisy training pass.
    public var noiseCounter: UInt64
    /// `Initializer.generator`'s Philox counter after the model was built (informational: the
    /// weights come from the checkpoint).
    public var initializerCounter: UInt64

    public init(seeds: TrainingSeeds, noiseCounter: UInt64, initializerCounter: UInt64) {
        self.seeds = seeds
        self.noiseCounter = noiseCounter
        self.initializerCounter = initializerCounter
    }

    enum CodingKeys: String, CodingKey {
        case seeds, noiseCounter = "noise_counter", initializerCounter = "initializer_counter"
    }
}

/// Sizes and digests of the training and test data.
public struct DataFingerprint: Codable, Equatable, Sendable {
    /// Training examples (after the subset).
    public var trainExamples: Int
    /// FNV-1a 64 of the training pixels and labels, hexadecimal.
    public var trainDigest: String
    /// Test examples (after the subset).
    public var testExamples: Int
    /// FNV-1a 64 of the test pixels and labels, hexadecimal.
    public var testDigest: String

    public init(trainExamples: Int, trainDigest: String, testExamples: Int, testDigest: String) {
        self.trainExamples = trainExamples
        self.trainDigest = trainDigest
        self.testExamples = testExamples
        self.testDigest = testDigest
    }

    enum CodingKeys: String, CodingKey {
        case trainExamples = "train_examples", trainDigest = "train_digest", testExamples = "test_examples", testDigest = "test_digest"
    }
}

/// The size and FNV-1a 64 digest of a file's bytes.
public struct FileDigest: Codable, Equatable, Sendable {
    /// Bytes.
    public var bytes: Int
    /// FNV-1a 64, 16 hexadecimal digits.
    public var fnv1a64: String

    public init(bytes: Int, fnv1a64: String) {
        self.bytes = bytes
        self.fnv1a64 = fnv1a64
    }

    /// The digest of `data`.
    public init(of data: Data) {
        bytes = data.count
        fnv1a64 = FNV1a64.hex(data)
    }
}

/// The JSON settings of checkpoint files and metric lines.
enum CheckpointCoding {
    /// Sorted keys, pretty-printed (checkpoint.json).
    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    /// Sorted keys on one line (metrics.jsonl).
    static var lineEncoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}

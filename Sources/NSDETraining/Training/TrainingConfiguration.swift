import Foundation
import NSDEData
import NSDEModels
import NSDENN

/// Everything that determines a training run, so that a run is reproducible from its
/// configuration alone and a checkpoint can say what it belongs to.
///
/// Defaults follow the authors' released setup (`paper-setup.md`): SGD with momentum 0.9, no
/// weight decay, learning rate 0.1 divided by 10 at each stage of 40, 40, 20, 20 epochs, batch
/// 128, the last partial batch dropped, random crop with zero padding 4 and no flip.
/// ``forDataset(_:model:)`` fills in the dataset's batch size, crop padding and stages.
///
/// **Seeds.** One ``seed`` drives everything; ``seeds`` derives independent keys from it for the
/// initial weights, the training subset, the data loader (shuffle and augmentation) and the SDE
/// noise.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// The dataset's registry name (e.g. `"fashion-mnist"`); the trainer uses it to reload the
    /// data when resuming, and for reports.
    public var dataset: String
    /// The classifier.
    public var model: ModelConfiguration
    /// The optimiser and its hyper-parameters.
    public var optimizer: OptimizerConfiguration
    /// The learning rate per epoch.
    public var schedule: ScheduleConfiguration
    /// The epoch to stop after (the run may be resumed later with a larger value). Default: the
    /// schedule's length.
    public var epochs: Int
    /// Examples per mini-batch.
    public var batchSize: Int
    /// Drop the last partial batch of each epoch (the paper does).
    public var dropLast: Bool
    /// Random-crop zero padding in pixels (0: no crop).
    public var cropPadding: Int
    /// Random horizontal flip (the paper does not flip).
    public var horizontalFlip: Bool
    /// Train on this many examples, drawn at random with ``TrainingSeeds/trainSubset``; `nil`:
    /// the whole training split.
    public var trainSubset: Int?
    /// Evaluate on the first this many test examples after each epoch; `nil`: the whole test
    /// split; 0: no evaluation.
    public var testSubset: Int?
    /// Hold out this many examples of the training split (drawn at random with
    /// ``validationSeed``, before ``trainSubset`` is drawn from the rest) as a validation set,
    /// evaluated like the test set; `nil` or 0: none. Choices of hyper-parameters (σ) are made on
    /// it, never on the test set. JSON key `val_size`, absent when `nil`.
    public var validationSize: Int?
    /// Evaluate the validation and test sets after every this many epochs (and always after the
    /// last one, ``epochs``); 1: every epoch. Changes no weight, so a resumed run may change it.
    /// JSON key `eval_every`, absent when 1.
    public var evaluationInterval: Int
    /// Examples per forward pass when evaluating.
    public var evaluationBatchSize: Int
    /// The seed everything random derives from.
    public var seed: UInt64
    /// Where the dataset's files were read from (informational: a resumed run reads them from
    /// here unless told otherwise); `nil`: the dataset's default place.
    public var dataDirectory: String?

    /// - Parameters: see the properties. `epochs` defaults to the schedule's length.
    public init(dataset: String, model: ModelConfiguration, optimizer: OptimizerConfiguration = .sgd(),
                schedule: ScheduleConfiguration = .staged(stages: [40, 40, 20, 20]), epochs: Int? = nil,
                batchSize: Int = 128, dropLast: Bool = true, cropPadding: Int = 4, horizontalFlip: Bool = false,
                trainSubset: Int? = nil, testSubset: Int? = nil, evaluationBatchSize: Int = 250, seed: UInt64 = 0,
                dataDirectory: String? = nil, validationSize: Int? = nil, evaluationInterval: Int = 1) {
        self.dataset = dataset
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.epochs = epochs ?? schedule.length
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.trainSubset = trainSubset
        self.testSubset = testSubset
        self.evaluationBatchSize = evaluationBatchSize
        self.seed = seed
        self.dataDirectory = dataDirectory
        self.validationSize = validationSize
        self.evaluationInterval = evaluationInterval
    }

    /// The paper's setup for a registered dataset: its channels and classes, batch size
    /// (128; 64 for STL-10), crop padding (4; 8 for STL-10), no flip, and stages 40, 40, 20, 20
    /// (30, 30, 20, 20 for STL-10) of SGD from learning rate 0.1.
    ///
    /// - Parameters:
    ///   - name: the dataset.
    ///   - model: architecture, width, noise and solver; its `inChannels` and `classes` are
    ///     replaced by the dataset's.
    public static func forDataset(_ name: DatasetName, model: ModelConfiguration) -> TrainingConfiguration {
        let info = name.info
        var model = model
        model.inChannels = info.channels
        model.classes = info.classCount
        let stages = name == .stl10 ? [30, 30, 20, 20] : [40, 40, 20, 20]
        return TrainingConfiguration(dataset: name.rawValue, model: model, schedule: .staged(stages: stages),
                                     batchSize: info.batchSize, cropPadding: info.cropPadding,
                                     horizontalFlip: info.horizontalFlip)
    }

    /// The keys derived from ``seed``.
    public var seeds: TrainingSeeds { TrainingSeeds(seed: seed) }

    /// The key of the validation split (derived from ``seed``, independent of the other keys).
    public var validationSeed: UInt64 { TrainingSeeds.mix(seed, 4) }

    /// Whether the validation and test sets are evaluated after epoch `epoch` (1-based).
    public func evaluates(afterEpoch epoch: Int) -> Bool { epoch % evaluationInterval == 0 || epoch >= epochs }

    /// The training augmentation.
    public var augmentation: Augmentation { Augmentation(cropPadding: cropPadding, horizontalFlip: horizontalFlip) }

    /// The learning rate of epoch `epoch` (0-based).
    public func learningRate(atEpoch epoch: Int) -> Float { schedule.learningRate(atEpoch: epoch, base: optimizer.learningRate) }

    /// The largest accepted ``cropPadding`` (the paper pads by 4; a padding beyond the image only
    /// crops zeros).
    public static let maxCropPadding = 64
    /// The largest accepted ``batchSize`` and ``evaluationBatchSize``.
    public static let maxBatchSize = 65_536

    /// Throws unless every setting is in range (see each property).
    ///
    /// - Throws: ``TrainingError/invalidParameter(name:value:expected:)`` naming the setting.
    public func validate() throws(TrainingError) {
        do { try model.validate() } catch { throw TrainingError(error) }
        try optimizer.validate()
        try schedule.validate()
        guard epochs >= 1 else { throw .invalidParameter(name: "epochs", value: "\(epochs)", expected: "a positive integer") }
        guard batchSize >= 1 else { throw .invalidParameter(name: "batch_size", value: "\(batchSize)", expected: "a positive integer") }
        guard evaluationBatchSize >= 1 else {
            throw .invalidParameter(name: "evaluation_batch_size", value: "\(evaluationBatchSize)", expected: "a positive integer")
        }
        guard cropPadding >= 0, cropPadding <= Self.maxCropPadding else {
            throw .invalidParameter(name: "crop_padding", value: "\(cropPadding)", expected: "an integer in 0...\(Self.maxCropPadding)")
        }
        for (name, value) in [("batch_size", batchSize), ("evaluation_batch_size", evaluationBatchSize)] where value > Self.maxBatchSize {
            throw .invalidParameter(name: name, value: "\(value)", expected: "at most \(Self.maxBatchSize)")
        }
        if let n = trainSubset, n < 1 { throw .invalidParameter(name: "train_subset", value: "\(n)", expected: "a positive integer") }
        if let n = testSubset, n < 0 { throw .invalidParameter(name: "test_subset", value: "\(n)", expected: "an integer ≥ 0") }
        if let n = validationSize, n < 0 { throw .invalidParameter(name: "val_size", value: "\(n)", expected: "an integer ≥ 0") }
        guard evaluationInterval >= 1 else {
            throw .invalidParameter(name: "eval_every", value: "\(evaluationInterval)", expected: "a positive integer")
        }
    }

    /// Whether `other` describes the same run: equal except for the settings a resumed run may
    /// change, ``epochs`` (to extend it), ``evaluationBatchSize`` and ``evaluationInterval``
    /// (which change no weight) and ``dataDirectory`` (the data themselves are checked by digest).
    public func isSameRun(as other: TrainingConfiguration) -> Bool {
        withoutResumableSettings == other.withoutResumableSettings
    }

    /// This configuration with the settings that ``isSameRun(as:)`` ignores cleared.
    public var withoutResumableSettings: TrainingConfiguration {
        var c = self
        c.epochs = 0
        c.evaluationBatchSize = 0
        c.evaluationInterval = 1
        c.dataDirectory = nil
        if c.validationSize == 0 { c.validationSize = nil }
        return c
    }

    /// "name: old -> new" for each setting (JSON key) that differs from `other`, ignoring what
    /// ``isSameRun(as:)`` ignores.
    public func differences(from other: TrainingConfiguration) -> [String] {
        func flatten(_ c: TrainingConfiguration) -> [String: String] {
            guard let data = try? CheckpointCoding.encoder.encode(c.withoutResumableSettings),
                  let object = try? JSONSerialization.jsonObject(with: data) else { return [:] }
            var out: [String: String] = [:]
            func visit(_ value: Any, _ path: String) {
                if let d = value as? [String: Any] {
                    for (k, v) in d { visit(v, path.isEmpty ? k : path + "." + k) }
                } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
                    out[path] = String(decoding: data, as: UTF8.self)
                }
            }
            visit(object, "")
            return out
        }
        let mine = flatten(self), theirs = flatten(other)
        return Set(mine.keys).union(theirs.keys).sorted().compactMap { key in
            let a = theirs[key] ?? "(none)", b = mine[key] ?? "(none)"
            return a == b ? nil : "\(key): \(a) -> \(b)"
        }
    }

    enum CodingKeys: String, CodingKey {
        case dataset, model, optimizer, schedule, epochs, batchSize = "batch_size", dropLast = "drop_last"
        case cropPadding = "crop_padding", horizontalFlip = "horizontal_flip", trainSubset = "train_subset"
        case testSubset = "test_subset", evaluationBatchSize = "evaluation_batch_size", seed
        case dataDirectory = "data_directory", validationSize = "val_size", evaluationInterval = "eval_every"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try c.decode(String.self, forKey: .dataset)
        model = try c.decode(ModelConfiguration.self, forKey: .model)
        optimizer = try c.decode(OptimizerConfiguration.self, forKey: .optimizer)
        schedule = try c.decode(ScheduleConfiguration.self, forKey: .schedule)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        dropLast = try c.decode(Bool.self, forKey: .dropLast)
        cropPadding = try c.decode(Int.self, forKey: .cropPadding)
        horizontalFlip = try c.decode(Bool.self, forKey: .horizontalFlip)
        trainSubset = try c.decodeIfPresent(Int.self, forKey: .trainSubset)
        testSubset = try c.decodeIfPresent(Int.self, forKey: .testSubset)
        evaluationBatchSize = try c.decode(Int.self, forKey: .evaluationBatchSize)
        seed = try c.decode(UInt64.self, forKey: .seed)
        dataDirectory = try c.decodeIfPresent(String.self, forKey: .dataDirectory)
        validationSize = try c.decodeIfPresent(Int.self, forKey: .validationSize)
        evaluationInterval = try c.decodeIfPresent(Int.self, forKey: .evaluationInterval) ?? 1
    }

    /// Encodes every key; `val_size` only when set and `eval_every` only when not 1, so that
    /// configurations without them encode exactly as before these settings existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dataset, forKey: .dataset)
        try c.encode(model, forKey: .model)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(dropLast, forKey: .dropLast)
        try c.encode(cropPadding, forKey: .cropPadding)
        try c.encode(horizontalFlip, forKey: .horizontalFlip)
        try c.encodeIfPresent(trainSubset, forKey: .trainSubset)
        try c.encodeIfPresent(testSubset, forKey: .testSubset)
        try c.encode(evaluationBatchSize, forKey: .evaluationBatchSize)
        try c.encode(seed, forKey: .seed)
        try c.encodeIfPresent(dataDirectory, forKey: .dataDirectory)
        try c.encodeIfPresent(validationSize, forKey: .validationSize)
        if evaluationInterval != 1 { try c.encode(evaluationInterval, forKey: .evaluationInterval) }
    }
}

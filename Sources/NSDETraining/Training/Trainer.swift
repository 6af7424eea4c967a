import Foundation
import NSDECore
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor

/// Trains one of the paper's classifiers epoch by epoch, with per-epoch metrics and crash-safe
/// checkpoints from which a run continues bit-identically.
///
/// ```swift
/// var configuration = TrainingConfiguration.forDataset(.fashionMNIST,
///     model: ModelConfiguration(noise: .dropout, sigma: 0.5))
/// configuration.epochs = 2
/// let (train, test) = try TrainingData.load(configuration)
/// let trainer = try Trainer(configuration: configuration, trainSet: train, testSet: test,
///                           outputDirectory: URL(fileURLWithPath: "runs/fmnist"))
/// trainer.progress = { event in if case .epochFinished(let m) = event { print(m.testAccuracy ?? 0) } }
/// let result = try trainer.run()
/// // later, in another process: continue to epoch 4, bit-identical to an uninterrupted run
/// var more = configuration; more.epochs = 4
/// let resumed = try Trainer.resume(from: URL(fileURLWithPath: "runs/fmnist"), trainSet: train,
///                                  testSet: test, configuration: more)
/// ```
///
/// **One epoch** (``trainEpoch()``): the learning rate of the schedule; the model in training
/// mode; for each batch of the seeded ``DataLoader`` (shuffle and augmentation from
/// ``TrainingSeeds/dataLoader`` and the epoch): zero the gradients, forward (the SDE block draws
/// the next Brownian stream of ``TrainingSeeds/noise``), cross-entropy, backward, optimiser step.
/// Then the test set is evaluated without test-time noise (σ = 0), and with an output directory
/// the checkpoint is saved (``Checkpoint``) and the metrics line appended to `metrics.jsonl`.
///
/// **Reproducibility.** The weights come from `Initializer.manualSeed(seeds.initialization)` (the
/// global generator is restored afterwards), the data order and augmentation from (data-loader
/// seed, epoch), the noise from (noise seed, ``PaperClassifier/noiseCounter``). A checkpoint stores
/// the weights, the optimiser's buffers, the epoch and the noise counter, so `resume` continues
/// exactly where an uninterrupted run would be (same thread count and build).
///
/// **Divergence.** If the loss, a gradient or the SDE state becomes NaN or infinite, training
/// stops before the optimiser applies it and throws ``TrainingError/diverged(what:epoch:batch:batches:lastCheckpointEpoch:directory:)``;
/// the last checkpoint (of the last complete epoch) stays in the directory. After any error the
/// trainer's in-memory model is mid-epoch: resume from the directory instead of calling it again.
///
/// **Directory.** `outputDirectory` is a ``RunDirectory``, created if missing. A new run refuses a
/// directory that already holds a checkpoint (``TrainingError/checkpointExists(directory:epoch:)``).
/// While an epoch runs, the directory's lock is held (``RunDirectory/withLock(_:)``), so two
/// processes never write the same run.
public final class Trainer {
    /// The run's configuration (for a resumed run, with the requested number of epochs).
    public let configuration: TrainingConfiguration
    /// The model being trained.
    public let model: PaperClassifier
    /// The optimiser.
    public let optimizer: any Optimizer
    /// The training examples (after ``TrainingConfiguration/trainSubset``).
    public let trainSet: InMemoryImageDataset
    /// The test examples evaluated after each epoch, or `nil`.
    public let testSet: InMemoryImageDataset?
    /// The validation examples held out of the training split
    /// (``TrainingConfiguration/validationSize``), evaluated after each epoch, or `nil`.
    public let validationSet: InMemoryImageDataset?
    /// The training batches.
    public let loader: DataLoader<InMemoryImageDataset>
    /// Where checkpoints and metrics go, or `nil` to keep everything in memory.
    public let runDirectory: RunDirectory?
    /// The run directory's URL, or `nil`.
    public var outputDirectory: URL? { runDirectory?.url }
    /// Epochs completed (including those before a resume).
    public private(set) var epochsCompleted: Int
    /// Metrics of the completed epochs.
    public private(set) var history: [EpochMetrics]
    /// The epoch the run resumed after (0 for a fresh run).
    public let resumedFromEpoch: Int
    /// Threads of the process that wrote the checkpoint this run resumed from (`nil` for a fresh
    /// run or a checkpoint that predates the field).
    public let resumedFromThreadCount: Int?
    /// Processes of the job that wrote the checkpoint this run resumed from (1 for a fresh run or
    /// a one-process checkpoint).
    public let resumedFromRanks: Int
    /// Called with each ``TrainingEvent``, on the training thread.
    public var progress: ((TrainingEvent) -> Void)?
    /// The processes training this model together (data parallelism): each runs its rows of every
    /// global batch, the gradients are summed over the processes in rank order, and rank 0 alone
    /// writes the run directory. ``SingleProcess`` for an ordinary run.
    public let communicator: any Communicator

    private let fingerprint: DataFingerprint
    private let initializerCounter: UInt64

    // MARK: - Starting and resuming

    /// Starts a new run.
    ///
    /// - Parameters:
    ///   - configuration: the run (checked with ``TrainingConfiguration/validate()``).
    ///   - trainSet: the whole training split (the trainer takes ``TrainingConfiguration/trainSubset``).
    ///   - testSet: the whole test split (the trainer takes ``TrainingConfiguration/testSubset``), or `nil`.
    ///   - outputDirectory: where to write checkpoints and `metrics.jsonl`, or `nil`.
    /// - Throws: ``TrainingError`` for an invalid setting or an unwritable directory;
    ///   ``TrainingError`` when the directory holds a checkpoint or is in use, the data do not fit
    ///   the model, or the solver rejects the model.
    public convenience init(configuration: TrainingConfiguration, trainSet: InMemoryImageDataset,
                            testSet: InMemoryImageDataset?, outputDirectory: URL? = nil,
                            communicator: any Communicator = SingleProcess.shared) throws {
        try self.init(configuration: configuration, trainSet: trainSet, testSet: testSet,
                      outputDirectory: outputDirectory, checkpoint: nil, communicator: communicator)
    }

    /// Continues the run saved in `directory`.
    ///
    /// - Parameters:
    ///   - directory: a directory written by a ``Trainer``.
    ///   - trainSet: the whole training split, as given to the original run.
    ///   - testSet: the whole test split, as given to the original run (or `nil` if it had none).
    ///   - configuration: the run's configuration with a new ``TrainingConfiguration/epochs``;
    ///     `nil` keeps the stored one. Anything else that differs is an error.
    /// - Throws: ``TrainingError``: no or a corrupt checkpoint, a different configuration or
    ///   different data, a directory in use.
    public static func resume(from directory: URL, trainSet: InMemoryImageDataset, testSet: InMemoryImageDataset?,
                              configuration: TrainingConfiguration? = nil,
                              communicator: any Communicator = SingleProcess.shared) throws -> Trainer {
        // Rank 0 holds the lock; the other processes only read.
        let checkpoint = communicator.isRoot
            ? try RunDirectory(directory).withLock { try Checkpoint.read(from: directory) }
            : try Checkpoint.read(from: directory)
        var resolved = checkpoint.state.configuration
        if let configuration {
            guard configuration.isSameRun(as: resolved) else {
                throw TrainingError.configurationMismatch(directory: directory.path,
                                                          differences: configuration.differences(from: resolved))
            }
            resolved = configuration
        }
        return try Trainer(configuration: resolved, trainSet: trainSet, testSet: testSet,
                           outputDirectory: directory, checkpoint: checkpoint, communicator: communicator)
    }

    private init(configuration: TrainingConfiguration, trainSet fullTrain: InMemoryImageDataset,
                 testSet fullTest: InMemoryImageDataset?, outputDirectory: URL?, checkpoint: Checkpoint?,
                 communicator: any Communicator) throws {
        self.communicator = communicator
        try configuration.validate()
        let seeds = configuration.seeds
        // The validation examples are held out first; the training subset is drawn from the rest.
        var pool = fullTrain
        var validation: InMemoryImageDataset?
        if let n = configuration.validationSize, n > 0 {
            guard n < fullTrain.count else {
                throw TrainingError.incompatibleData(
                    reason: "a validation split of \(n) examples leaves no training data (the training split has \(fullTrain.count))")
            }
            (pool, validation) = fullTrain.split(holdingOut: n, seed: configuration.validationSeed)
        }
        let train = configuration.trainSubset.map { $0 < pool.count ? pool.subset($0, seed: seeds.trainSubset) : pool } ?? pool
        var test = fullTest
        if let n = configuration.testSubset, let full = fullTest { test = n == 0 ? nil : (n < full.count ? full.subset(n) : full) }
        try Self.check(train, against: configuration.model, split: "training")
        if let test { try Self.check(test, against: configuration.model, split: "test") }
        if configuration.dropLast && train.count < configuration.batchSize {
            throw TrainingError.incompatibleData(
                reason: "\(train.count) training examples make no full batch of \(configuration.batchSize) (the last partial batch is dropped)")
        }
        self.configuration = configuration
        self.trainSet = train
        self.testSet = test
        self.validationSet = validation
        self.fingerprint = DataFingerprint(train: train, test: test)
        // Only rank 0 writes (and locks) the run directory.
        self.runDirectory = communicator.isRoot ? outputDirectory.map(RunDirectory.init) : nil

        // The model, seeded without disturbing the caller's global generator.
        let savedGenerator = Initializer.generator
        Initializer.manualSeed(seeds.initialization)
        model = configuration.model.makeModel(noiseSeed: seeds.noise)
        initializerCounter = Initializer.generator.counter
        Initializer.generator = savedGenerator
        optimizer = configuration.optimizer.makeOptimizer(parameters: model.parameters)
        loader = DataLoader(dataset: train, batchSize: configuration.batchSize, shuffle: true, seed: seeds.dataLoader,
                            dropLast: configuration.dropLast, augmentation: configuration.augmentation, prefetch: 2)

        if let checkpoint {
            let directory = outputDirectory?.path ?? "?"
            guard checkpoint.state.data == fingerprint else {
                throw TrainingError.dataMismatch(directory: directory, reason: checkpoint.state.data.difference(from: fingerprint))
            }
            do {
                try model.loadStateDict(checkpoint.model)
                try optimizer.loadStateDict(checkpoint.optimizer)
            } catch {
                throw TrainingError.corruptCheckpoint(directory: directory, reason: "\(error)")
            }
            model.noiseCounter = checkpoint.state.random.noiseCounter
            epochsCompleted = checkpoint.state.epoch
            history = checkpoint.state.history
            resumedFromEpoch = checkpoint.state.epoch
            resumedFromThreadCount = checkpoint.state.threads
            resumedFromRanks = checkpoint.state.ranks ?? 1
        } else {
            epochsCompleted = 0
            history = []
            resumedFromEpoch = 0
            resumedFromThreadCount = nil
            resumedFromRanks = 1
        }
        if communicator.size > 1 {
            if configuration.batchSize < communicator.size {
                throw TrainingError.invalidParameter(name: "batch size", value: "\(configuration.batchSize)",
                                                     expected: "at least one image per process (\(communicator.size) processes)")
            }
            try synchronizeParameters()
        }
        try preflight()
        if let run = runDirectory {
            try run.withLock {
                if checkpoint == nil { try run.requireNoCheckpoint() }
                // metrics.jsonl holds exactly the committed epochs.
                try run.rewriteMetrics(history)
            }
        }
    }

    /// One forward pass on one training example, to turn an unsupported solver or gradient
    /// combination into an error before the first epoch. Leaves no trace (noise counter restored).
    private func preflight() throws {
        guard trainSet.count > 0 else { throw TrainingError.incompatibleData(reason: "the training set is empty") }
        let counter = model.noiseCounter
        defer { model.noiseCounter = counter }
        try Self.mappingSolverErrors(diverged: {
            .diverged(what: $0, epoch: epochsCompleted + 1, batch: 1, batches: loader.batchesPerEpoch,
                      lastCheckpointEpoch: epochsCompleted, directory: outputDirectory?.path)
        }, what: "hidden state") {
            _ = try noGrad { try model.logits(trainSet.batch(indices: [0]).images) }
        }
    }

    /// Runs `body`, turning the solver's errors into training errors: a non-finite state is
    /// `diverged(what)`, any other ``SDEError`` an invalid configuration (an unsupported solver or
    /// gradient combination).
    private static func mappingSolverErrors<R>(diverged: (String) -> TrainingError, what: String,
                                               _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as SDEError {
            if case .nonFiniteState = error { throw diverged(what) }
            throw TrainingError.invalidConfiguration(reason: error.description)
        }
    }

    // MARK: - Training

    /// Trains until ``TrainingConfiguration/epochs`` epochs are complete (nothing when they
    /// already are), saving a checkpoint after each.
    ///
    /// - Throws: ``TrainingError/diverged(what:epoch:batch:batches:lastCheckpointEpoch:directory:)``,
    ///   and file errors.
    public func run() throws -> TrainingResult {
        let start = Date()
        if epochsCompleted < configuration.epochs, let warning = threadCountWarning { progress?(.warning(warning)) }
        while epochsCompleted < configuration.epochs { _ = try trainEpoch() }
        return TrainingResult(configuration: configuration, history: history, resumedFromEpoch: resumedFromEpoch,
                              stateDict: model.stateDict(), parameterCount: model.parameterCount,
                              seconds: Date().timeIntervalSince(start))
    }

    /// Trains one epoch, evaluates the test set without test-time noise, and (with an output
    /// directory) saves the checkpoint and appends the metrics line.
    ///
    /// - Returns: the epoch's metrics.
    /// - Throws: see ``run()``.
    @discardableResult
    public func trainEpoch() throws -> EpochMetrics {
        if let run = runDirectory { return try run.withLock { try epoch() } }
        return try epoch()
    }

    private func epoch() throws -> EpochMetrics {
        let index = epochsCompleted
        let number = index + 1
        let learningRate = configuration.learningRate(atEpoch: index)
        optimizer.learningRate = learningRate
        model.train()
        let batches = loader.batchesPerEpoch
        progress?(.epochStarted(epoch: number, epochs: configuration.epochs, batches: batches, learningRate: learningRate))
        let start = Date()
        var lossSum = 0.0, correct = 0, seen = 0, batch = 0
        func diverged(_ what: String) -> TrainingError {
            .diverged(what: what, epoch: number, batch: batch, batches: batches, lastCheckpointEpoch: index,
                      directory: outputDirectory?.path)
        }
        for (images, labels) in loader.epoch(index) {
            batch += 1
            optimizer.zeroGrad()
            // One noise stream per batch; the batch's shards (one per thread) each run their rows
            // end to end and their gradients are added in shard order.
            let stream = model.reserveNoiseStream()
            // This process's rows of the global batch (all of it in a one-process run).
            let mine = BatchParallel.shardRange(communicator.rank, of: communicator.size, batch: labels.count)
            let parts: [(loss: Float, correct: Int)] = mine.isEmpty ? [] : try Self.mappingSolverErrors(diverged: diverged, what: "hidden state") {
                try BatchParallel.run(batch: labels.count, rows: mine) { shard in
                    let rows = shard.rows.range
                    let logits = try model.logits(shard.slice(images), noiseStream: stream)
                    let shardLabels = Array(labels[rows])
                    let loss = crossEntropy(logits: logits, labels: shardLabels) * shard.fraction
                    let value = loss.item
                    if value.isFinite { loss.backward() }
                    return (value, zip(logits.detached().argmax(axis: 1), shardLabels).filter { $0 == $1 }.count)
                }
            }
            var value = parts.map(\.loss).reduce(0, +)
            var batchCorrect = parts.map(\.correct).reduce(0, +)
            if communicator.size > 1 { try sumOverProcesses(loss: &value, correct: &batchCorrect) }
            guard value.isFinite else { throw diverged("loss") }
            guard model.parameters.allSatisfy({ $0.grad?.isFinite ?? true }) else { throw diverged("gradient") }
            optimizer.step()
            lossSum += Double(value)
            correct += batchCorrect
            seen += labels.count
            progress?(.batchFinished(BatchProgress(
                epoch: number, batch: batch, batches: batches, batchSize: labels.count, loss: Double(value),
                runningLoss: lossSum / Double(batch), runningAccuracy: Double(correct) / Double(seen),
                examples: seen, elapsed: Date().timeIntervalSince(start))))
        }
        let trainSeconds = Date().timeIntervalSince(start)

        let evaluating = configuration.evaluates(afterEpoch: number)
        let validationResult = evaluating ? try evaluateAfterEpoch(validationSet, epoch: number, what: "validation", diverged: diverged) : nil
        let testResult = evaluating ? try evaluateAfterEpoch(testSet, epoch: number, what: "test", diverged: diverged) : nil
        model.train()
        let metrics = EpochMetrics(
            epoch: number, learningRate: learningRate, trainLoss: lossSum / Double(max(batch, 1)),
            trainAccuracy: Double(correct) / Double(max(seen, 1)), testAccuracy: testResult?.accuracy,
            testLoss: testResult?.plain.meanNegativeLogLikelihood, seconds: Date().timeIntervalSince(start), trainSeconds: trainSeconds,
            imagesPerSecond: trainSeconds > 0 ? Double(seen) / trainSeconds : 0,
            trainExamples: seen, testExamples: testResult?.count ?? 0, validationAccuracy: validationResult?.accuracy,
            validationLoss: validationResult?.plain.meanNegativeLogLikelihood, validationExamples: validationResult?.count ?? 0)
        epochsCompleted = number
        history.append(metrics)
        if let run = runDirectory {
            try checkpoint().write(to: run.url)
            try run.appendMetrics(metrics)
        }
        progress?(.epochFinished(metrics))
        return metrics
    }

    /// Evaluates `dataset` (if any) without test-time noise, reporting progress as `.evaluating`.
    private func evaluateAfterEpoch(_ dataset: InMemoryImageDataset?, epoch: Int, what: String,
                                    diverged: (String) -> TrainingError) throws -> EvaluationResult? {
        guard let dataset else { return nil }
        progress?(.evaluating(epoch: epoch, done: 0, total: dataset.count))
        return try Self.mappingSolverErrors(diverged: diverged, what: "hidden state (evaluating the \(what) set)") {
            try evaluate(model, on: dataset, testSigma: 0, ttnSamples: 0,
                         batchSize: configuration.evaluationBatchSize, seed: 0, communicator: communicator) { [progress] done, total in
                progress?(.evaluating(epoch: epoch, done: done, total: total))
            }
        }
    }

    /// Why this resume will not be bit-identical to an uninterrupted run, or `nil`: the checkpoint
    /// was written with another thread count than `Parallel.threadCount` now, or by another number
    /// of processes than ``communicator`` has.
    public var threadCountWarning: String? {
        let directory = outputDirectory?.path ?? "?"
        if resumedFromRanks != communicator.size {
            return "the checkpoint in \(directory) was written by \(resumedFromRanks) process\(resumedFromRanks == 1 ? "" : "es"); "
                + "resuming with \(communicator.size) continues the run correctly but not bit-identically to an uninterrupted one "
                + "(start \(resumedFromRanks) process\(resumedFromRanks == 1 ? "" : "es") for that)"
        }
        guard let stored = resumedFromThreadCount, stored != Parallel.threadCount else { return nil }
        let current = Parallel.threadCount
        return "the checkpoint in \(directory) was written with \(stored) thread\(stored == 1 ? "" : "s"); "
            + "resuming with \(current) continues the run correctly but not bit-identically to an uninterrupted one "
            + "(pass --threads \(stored) for that)"
    }

    /// The run's current state as a checkpoint (after ``epochsCompleted`` epochs).
    public func checkpoint() -> Checkpoint {
        let c = configuration
        let state = CheckpointState(
            epoch: epochsCompleted, configuration: c,
            optimizer: OptimizerRecord(kind: c.optimizer.kind, learningRate: optimizer.learningRate,
                                       file: Checkpoint.optimizerFileName, parameterNames: model.namedParameters().map(\.name)),
            schedule: SchedulePosition(nextEpoch: epochsCompleted, nextLearningRate: c.learningRate(atEpoch: epochsCompleted)),
            dataLoader: DataLoaderPosition(seed: loader.seed, nextEpoch: epochsCompleted, batchSize: loader.batchSize,
                                           batchesPerEpoch: loader.batchesPerEpoch, dropLast: loader.dropLast),
            random: RandomState(seeds: c.seeds, noiseCounter: model.noiseCounter, initializerCounter: initializerCounter),
            data: fingerprint, files: [:], history: history, parameterCount: model.parameterCount, threads: Parallel.threadCount,
            ranks: communicator.size > 1 ? communicator.size : nil)
        return Checkpoint(state: state, model: model.stateDict(), optimizer: optimizer.stateDict())
    }

    // MARK: - Several processes

    /// Sets every process's parameters to rank 0's (they start equal from the same seed or
    /// checkpoint; this makes sure).
    private func synchronizeParameters() throws {
        let parameters = model.parameters
        var flat: [Float] = communicator.isRoot ? parameters.flatMap(\.value.scalars) : []
        let bytes = try communicator.broadcast(flat.withUnsafeBytes { Array($0) }, root: 0)
        flat = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var offset = 0
        noGrad {
            for p in parameters {
                let n = p.shape.reduce(1, *)
                p.assign(Tensor(shape: p.shape, scalars: Array(flat[offset..<offset + n])))
                offset += n
            }
        }
    }

    /// Sums the batch's gradients, loss and correct count over the processes (rank order), so
    /// every process steps the optimiser with the global batch's gradient.
    private func sumOverProcesses(loss: inout Float, correct: inout Int) throws {
        var sums = [loss, Float(correct)]
        try communicator.allReduceGradients(of: model.parameters, extra: &sums)
        loss = sums[0]
        correct = Int(sums[1].rounded())
    }

    // MARK: - Helpers

    /// Throws unless `dataset` is non-empty with the model's input channels, classes and a large
    /// enough image size (``ModelConfiguration/checkCompatible(with:split:)``).
    static func check(_ dataset: InMemoryImageDataset, against model: ModelConfiguration, split: String) throws {
        do { try model.checkCompatible(with: dataset, split: split) } catch { throw TrainingError(error) }
    }
}

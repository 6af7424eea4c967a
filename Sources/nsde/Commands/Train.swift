import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a paper classifier (ODE or SDE block) with checkpoints, metrics and resume.",
            discussion: """
            Defaults are the authors' released setup for the dataset: SGD, momentum 0.9, no weight decay, \
            learning rate 0.1 divided by 10 at each stage of --stages (40,40,20,20; 30,30,20,20 for stl10), \
            batch 128 (64 for stl10), the last partial batch dropped, random crop with zero padding 4 (8 for \
            stl10), no flip, 11 Euler–Maruyama steps on [0, 1], backpropagation.

            After every epoch OUT gets: model.safetensors (PyTorch state_dict names), optimizer.safetensors \
            (momentum buffers), checkpoint.json (configuration, epoch, schedule, data-loader and noise \
            positions, digests of the tensor files; written last) and one line in metrics.jsonl (epoch, lr, \
            train_loss, train_acc, test_acc and val_acc without test-time noise, seconds, images_per_s). All files are \
            replaced atomically, so a killed run always leaves the last complete epoch. --resume continues \
            from OUT bit-identically (same build and thread count); a resumed run keeps its configuration \
            except --epochs and --data-dir (default: the directory the run started with). A NaN or \
            infinite loss, gradient or state stops training with an error naming the epoch and batch; \
            the last good checkpoint stays.

            Everything random follows --seed: the initial weights, the training subset, the shuffle and \
            augmentation, and the SDE noise. Progress goes to stderr (a bar on a terminal, a line every 10 s \
            otherwise); --json prints one JSON object on stdout at the end.
            """)

        @Option(help: "Dataset (default fashion-mnist).")
        var dataset: TrainableDataset?
        @Option(help: ArgumentHelp("Directory of the dataset's files (default: the dataset's standard place; fashion-mnist: /usr/share/datasets/fashion-mnist).", valueName: "dir"))
        var dataDir: String?
        @Option(help: "Model (default paper-big for stl10, paper-small otherwise).")
        var model: ModelConfiguration.Architecture?
        @Option(help: "Noise of the SDE block (default ode).")
        var noise: BlockNoise?
        @Option(help: "Noise scale σ in training (default: 0 for ode, 0.7 additive, 1.0 multiplicative, 0.5 dropout and learned; the released CIFAR settings).")
        var sigma: Float?
        @Option(help: "σ at test time, stored as the default of `nsde eval --test-sigma` (default: --sigma). Per-epoch test accuracy always uses σ = 0.")
        var testSigma: Float?
        @Option(help: "Stop after this many epochs (default: the sum of --stages). A resumed run may give a larger value.")
        var epochs: Int?
        @Option(help: ArgumentHelp("Epochs per learning-rate stage; the rate is divided by 10 between stages (default 40,40,20,20).", valueName: "n,n,..."))
        var stages: String?
        @Option(help: "Mini-batch size (default 128; 64 for stl10).")
        var batchSize: Int?
        @Option(help: "Train on this many training images, drawn at random with --seed (default: all).")
        var trainSubset: Int?
        @Option(help: "Evaluate on the first this many test images after each epoch (default: all; 0: no evaluation).")
        var testSubset: Int?
        @Option(help: "Hold out this many training images (drawn at random with --seed, before --train-subset is drawn from the rest) as a validation set, evaluated after each epoch into metrics.jsonl's val_acc (default 0: none).")
        var valSize: Int?
        @Option(help: "Evaluate the validation and test sets after every this many epochs and after the last one (default 1).")
        var evalEvery: Int?
        @Option(help: "Seed of the weights, subset, shuffle, augmentation and noise (default 0).")
        var seed: UInt64?
        @Option(help: ArgumentHelp("Output directory for checkpoints and metrics (created if missing).", valueName: "dir"))
        var out: String
        @Flag(help: "Continue the run saved in --out.")
        var resume = false
        @Option(help: "Optimiser (default sgd).")
        var optimizer: OptimizerConfiguration.Kind?
        @Option(help: "Base learning rate (default 0.1 for sgd, 0.001 for adam).")
        var lr: Float?
        @Option(help: "SGD momentum (default 0.9).")
        var momentum: Float?
        @Option(help: "L2 weight decay added to the gradient (default 0).")
        var weightDecay: Float?
        @Option(help: "Channels of the SDE block (default 64 for paper-small, 256 for paper-big).")
        var width: Int?
        @Option(help: "GroupNorm groups of the SDE block and head; must divide --width (default: the paper's min(32, width); e.g. 8 at width 16 keeps the paper's 2 channels per group).")
        var gnGroups: Int?
        @Option(help: "Solver steps on [0, T = 1] (default 11).")
        var steps: Int?
        @Option(help: "SDE solver (default euler-maruyama).")
        var solver: SolverKind?
        @Option(help: "Gradient through the block: backprop, adjoint, reversible-adjoint or checkpointed:K (K >= 1) (default backprop).")
        var gradient: String?
        @Option(help: "Random-crop zero padding in pixels (default 4; 8 for stl10; 0: no crop).")
        var cropPadding: Int?
        @Flag(help: "Print one JSON object with the final metrics (out, epochs_completed, train_loss, train_acc, test_acc, best_test_acc, images_per_s, parameters, …).")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions
        @OptionGroup var distributedOptions: DistributedOptions

        struct Report: Encodable {
            let out: String, checkpoint: String, metrics: String
            let dataset: String, model: String, noise: String, sigma: Float, test_sigma: Float, width: Int
            let parameters: Int, seed: UInt64, threads: Int
            let epochs: Int, epochs_completed: Int, resumed_from_epoch: Int
            let lr: Float?, train_loss: Double?, train_acc: Double?, test_acc: Double?, best_test_acc: Double?
            let images_per_s: Double?, seconds: Double
            /// The processes of a `--distributed` run (absent otherwise).
            let ranks: Int?

            func encode(to encoder: Encoder) throws {
                // Every key is always present (null when there is no value), as scripts expect.
                enum K: String, CodingKey {
                    case out, checkpoint, metrics, dataset, model, noise, sigma, test_sigma, width, parameters, seed, threads
                    case epochs, epochs_completed, resumed_from_epoch, lr, train_loss, train_acc, test_acc, best_test_acc
                    case images_per_s, seconds, ranks
                }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(out, forKey: .out); try c.encode(checkpoint, forKey: .checkpoint); try c.encode(metrics, forKey: .metrics)
                try c.encode(dataset, forKey: .dataset); try c.encode(model, forKey: .model); try c.encode(noise, forKey: .noise)
                try c.encode(sigma, forKey: .sigma); try c.encode(test_sigma, forKey: .test_sigma); try c.encode(width, forKey: .width)
                try c.encode(parameters, forKey: .parameters); try c.encode(seed, forKey: .seed); try c.encode(threads, forKey: .threads)
                try c.encode(epochs, forKey: .epochs); try c.encode(epochs_completed, forKey: .epochs_completed)
                try c.encode(resumed_from_epoch, forKey: .resumed_from_epoch); try c.encode(lr, forKey: .lr)
                try c.encode(train_loss, forKey: .train_loss); try c.encode(train_acc, forKey: .train_acc)
                try c.encode(test_acc, forKey: .test_acc); try c.encode(best_test_acc, forKey: .best_test_acc)
                try c.encode(images_per_s, forKey: .images_per_s); try c.encode(seconds, forKey: .seconds)
                try c.encodeIfPresent(ranks, forKey: .ranks)
            }
        }

        // MARK: - Parsed choices

        var datasetName: DatasetName { dataset?.name ?? .fashionMNIST }
        var gradientMethod: GradientMethod? { gradient.flatMap(GradientMethod.init) }
        var parsedStages: [Int]? { stages.flatMap(ScheduleConfiguration.parseStages) }

        func validate() throws {
            if let gradient, gradientMethod == nil || gradientMethod?.name == "forward-sensitivity" {
                throw ValidationError("--gradient must be backprop, adjoint, reversible-adjoint or checkpointed:K (K >= 1), got '\(gradient)'")
            }
            if let stages, parsedStages == nil {
                throw ValidationError("--stages must be comma-separated positive epoch counts such as 40,40,20,20, got '\(stages)'")
            }
            for (flag, value) in [("--sigma", sigma), ("--test-sigma", testSigma), ("--momentum", momentum), ("--weight-decay", weightDecay)] {
                if let value, !(value.isFinite && value >= 0) { throw ValidationError("\(flag) must be a finite number >= 0, got \(value)") }
            }
            if let momentum, momentum >= 1 { throw ValidationError("--momentum must be below 1, got \(momentum)") }
            if let lr, !(lr.isFinite && lr > 0) { throw ValidationError("--lr must be a positive number, got \(lr)") }
            for (flag, value) in [("--epochs", epochs), ("--batch-size", batchSize), ("--train-subset", trainSubset),
                                  ("--width", width), ("--steps", steps), ("--gn-groups", gnGroups)] {
                if let value, value < 1 { throw ValidationError("\(flag) must be a positive integer, got \(value)") }
            }
            if let testSubset, testSubset < 0 { throw ValidationError("--test-subset must be >= 0, got \(testSubset)") }
            if let valSize, valSize < 0 { throw ValidationError("--val-size must be >= 0, got \(valSize)") }
            if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be a positive integer, got \(evalEvery)") }
            if let cropPadding, !(0...TrainingConfiguration.maxCropPadding).contains(cropPadding) {
                throw ValidationError("--crop-padding must be 0...\(TrainingConfiguration.maxCropPadding), got \(cropPadding)")
            }
            if noise == .ode, let sigma, sigma != 0 {
                throw ValidationError("--sigma \(sigma) has no effect with --noise ode (no diffusion); drop it or choose a noise "
                                      + "(\(BlockNoise.allCases.filter { $0 != .ode }.map(\.rawValue).joined(separator: ", ")))")
            }
            if out.isEmpty { throw ValidationError("--out needs a directory") }
        }

        /// The configuration of a new run: the dataset's paper defaults, then the options given.
        func newConfiguration() -> TrainingConfiguration {
            let name = datasetName
            let noise = self.noise ?? .ode
            let sigma = self.sigma ?? noise.paperDefaultSigma
            let architecture = model ?? (name == .stl10 ? .paperBig : .paperSmall)
            let model = ModelConfiguration(architecture: architecture, width: width, noise: noise, sigma: sigma,
                                           testSigma: testSigma, steps: steps ?? 11, solver: solver ?? .eulerMaruyama,
                                           gradient: gradientMethod ?? .backprop)
            var c = TrainingConfiguration.forDataset(name, model: model)
            let kind = optimizer ?? .sgd
            c.optimizer = OptimizerConfiguration(kind: kind, learningRate: OptimizerConfiguration.defaultLearningRate(kind),
                                                 momentum: kind == .sgd ? 0.9 : 0)
            c = overriding(c)
            c.epochs = epochs ?? c.schedule.length
            c.dataDirectory = absoluteDataDirectory
            return c
        }

        /// `base` with every option that was given applied (the model's width only when given).
        func overriding(_ base: TrainingConfiguration) -> TrainingConfiguration {
            var c = base
            if let dataset { c.dataset = dataset.name.rawValue }
            if let model { c.model.architecture = model }
            if let width { c.model.width = width }
            if let gnGroups { c.model.groupNormGroups = gnGroups }
            if let noise { c.model.noise = noise }
            if let sigma { c.model.sigma = sigma }
            if let testSigma { c.model.testSigma = testSigma }
            if let steps { c.model.steps = steps }
            if let solver { c.model.solver = solver }
            if let gradientMethod { c.model.gradient = gradientMethod }
            if let optimizer { c.optimizer.kind = optimizer }
            if let lr { c.optimizer.learningRate = lr }
            if let momentum { c.optimizer.momentum = momentum }
            if let weightDecay { c.optimizer.weightDecay = weightDecay }
            if let parsedStages { c.schedule = .staged(stages: parsedStages) }
            if let epochs { c.epochs = epochs }
            if let batchSize { c.batchSize = batchSize }
            if let trainSubset { c.trainSubset = trainSubset }
            if let testSubset { c.testSubset = testSubset }
            if let valSize { c.validationSize = valSize > 0 ? valSize : nil }
            if let evalEvery { c.evaluationInterval = evalEvery }
            if let seed { c.seed = seed }
            if let cropPadding { c.cropPadding = cropPadding }
            return c
        }

        /// --data-dir as an absolute path (stored in the checkpoint for --resume).
        var absoluteDataDirectory: String? {
            dataDir.map { URL(fileURLWithPath: NSString(string: $0).expandingTildeInPath).standardizedFileURL.path }
        }

        // MARK: - Running

        func run() throws {
            try threadOptions.apply()
            try distributedOptions.run(train)
        }

        /// Trains as one of `communicator`'s processes (the only one in an ordinary run); rank 0
        /// prints and writes the run directory.
        private func train(_ communicator: any Communicator) throws {
            let outURL = URL(fileURLWithPath: NSString(string: out).expandingTildeInPath).standardizedFileURL
            let configuration: TrainingConfiguration
            if resume {
                let stored = try Checkpoint.readState(from: outURL)
                var requested = overriding(stored.configuration)
                if epochs == nil { requested.epochs = stored.configuration.epochs }
                if let directory = absoluteDataDirectory { requested.dataDirectory = directory }
                guard requested.isSameRun(as: stored.configuration) else {
                    throw TrainingError.configurationMismatch(directory: outURL.path,
                                                              differences: requested.differences(from: stored.configuration))
                }
                configuration = requested
            } else {
                configuration = newConfiguration()
                try configuration.validate()
            }
            let (trainSet, testSet) = try TrainingData.load(configuration)
            let trainer = resume
                ? try Trainer.resume(from: outURL, trainSet: trainSet, testSet: testSet, configuration: configuration,
                                     communicator: communicator)
                : try Trainer(configuration: configuration, trainSet: trainSet, testSet: testSet, outputDirectory: outURL,
                              communicator: communicator)
            let m = configuration.model
            let start = Date()
            let processes = communicator.size > 1 ? " × \(communicator.size) processes" : ""
            if !communicator.isRoot {
                // Only rank 0 reports.
            } else if trainer.epochsCompleted >= configuration.epochs {
                status("\(outURL.path) already holds \(trainer.epochsCompleted) of \(configuration.epochs) epochs; nothing to train")
            } else {
                status("Training \(m.architecture.rawValue) (\(trainer.model.parameterCount) parameters, \(m.noise.rawValue) noise, σ \(m.sigma)) "
                       + "on \(trainer.trainSet.count) \(configuration.dataset) images"
                       + (trainer.resumedFromEpoch > 0 ? ", resuming after epoch \(trainer.resumedFromEpoch)" : "")
                       + ", \(configuration.epochs) epochs, \(Parallel.threadCount) threads\(processes); output in \(outURL.path)")
            }
            if communicator.isRoot { trainer.progress = TrainingProgressDisplay().handler }
            let result = try trainer.run()
            guard communicator.isRoot else { return }
            let last = result.final
            let report = Report(
                out: outURL.path, checkpoint: outURL.appendingPathComponent(Checkpoint.stateFileName).path,
                metrics: outURL.appendingPathComponent(Checkpoint.metricsFileName).path,
                dataset: configuration.dataset, model: m.architecture.rawValue, noise: m.noise.rawValue, sigma: m.sigma,
                test_sigma: m.testSigma, width: m.width, parameters: result.parameterCount, seed: configuration.seed,
                threads: Parallel.threadCount, epochs: configuration.epochs, epochs_completed: trainer.epochsCompleted,
                resumed_from_epoch: result.resumedFromEpoch, lr: last?.learningRate, train_loss: last?.trainLoss,
                train_acc: last?.trainAccuracy, test_acc: last?.testAccuracy, best_test_acc: result.bestTestAccuracy,
                images_per_s: last?.imagesPerSecond, seconds: Date().timeIntervalSince(start),
                ranks: distributedOptions.distributed ? communicator.size : nil)
            if json { try printJSON(report); return }
            func percent(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "-" }
            print("Trained \(m.architecture.rawValue) on \(configuration.dataset): \(trainer.epochsCompleted) epochs, "
                  + "test accuracy \(percent(last?.testAccuracy)) (best \(percent(result.bestTestAccuracy))), "
                  + "train accuracy \(percent(last?.trainAccuracy)); checkpoint in \(outURL.path)")
        }
    }
}

/// Turns ``TrainingEvent``s into a progress bar per epoch (loss, accuracy, images/s, ETA), an
/// evaluation bar and a summary line per epoch, all on stderr.
final class TrainingProgressDisplay {
    private var bar: ProgressBar?
    private var evaluationBar: ProgressBar?
    private var epochs = 0
    private var lastEvaluated = 0

    var handler: (TrainingEvent) -> Void { { [self] event in handle(event) } }

    func handle(_ event: TrainingEvent) {
        switch event {
        case let .epochStarted(epoch, epochs, batches, learningRate):
            self.epochs = epochs
            bar = ProgressBar(title: String(format: "epoch %d/%d lr %g", epoch, epochs, Double(learningRate)), total: batches, unit: "img")
            evaluationBar = nil
        case let .batchFinished(p):
            bar?.update(p.batch, itemsPerStep: p.batchSize,
                        detail: String(format: "loss %.4f acc %.2f%%", p.runningLoss, 100 * p.runningAccuracy))
        case let .evaluating(epoch, done, total):
            if evaluationBar == nil || evaluationBar!.total != total || done < lastEvaluated { evaluationBar = ProgressBar(title: "eval \(epoch)/\(epochs)", total: total, unit: "img") }
            lastEvaluated = done
            evaluationBar?.update(done)
        case let .epochFinished(m):
            let validation = m.validationAccuracy.map { String(format: ", val acc %.2f%%", 100 * $0) } ?? ""
            let test = validation + (m.testAccuracy.map { String(format: ", test acc %.2f%% (σ = 0)", 100 * $0) } ?? "")
            status(String(format: "epoch %d/%d: lr %g, train loss %.4f, train acc %.2f%%%@, %.1f images/s, %@",
                          m.epoch, epochs, Double(m.learningRate), m.trainLoss, 100 * m.trainAccuracy, test,
                          m.imagesPerSecond, ProgressBar.format(seconds: m.seconds)))
        case let .warning(message):
            status("warning: " + message)
        }
    }
}

import ArgumentParser
import Foundation
import NeuralSDE

/// Options shared by `nsde experiment table1` and `nsde demo`: the dataset, where the runs go,
/// and overrides of a preset's budget.
struct ComparisonOptions: ParsableArguments {
    @Option(help: "Dataset every model is trained and tested on.")
    var dataset: DatasetName = .fashionMNIST
    @Option(help: ArgumentHelp("Directory of the dataset's files (default: the dataset's standard place).", valueName: "dir"))
    var dataDir: String?
    @Option(help: ArgumentHelp("Output directory of the runs and reports (default: runs/demo for `demo`, runs/table1-<preset> for `experiment table1`, runs/robustness-<preset> for `experiment robustness`).", valueName: "dir"))
    var out: String?
    @Option(help: ArgumentHelp("Comma-separated models NOISE[:SIGMA], e.g. ode,dropout:0.7 (default: the preset's; a bare name takes the paper's σ: additive 0.7, multiplicative 1, dropout 0.5).", valueName: "list"))
    var models: String?
    @Option(help: "Channels of the SDE block (default: the preset's).")
    var width: Int?
    @Option(help: "GroupNorm groups of the SDE block and head; must divide the width (default: the preset's; the paper's is min(32, width)).")
    var gnGroups: Int?
    @Option(help: "Euler–Maruyama steps on [0, 1] (default: the preset's; the paper's is 11).")
    var steps: Int?
    @Option(help: "Base learning rate (default: the preset's), divided by 10 at each stage.")
    var lr: Float?
    @Option(help: "Optimiser: sgd (momentum 0.9) or adam (default: the preset's).")
    var optimizer: OptimizerConfiguration.Kind?
    @Option(help: ArgumentHelp("Epochs per learning-rate stage, e.g. 40,40,20,20 (lr 0.1, divided by 10 per stage).", valueName: "list"))
    var stages: String?
    @Option(help: "Training images (the first N of a seeded shuffle; default: the preset's).")
    var trainSubset: Int?
    @Option(help: "Test images evaluated (the first N; default: the preset's).")
    var testSubset: Int?
    @Option(help: "Mini-batch size (default: the dataset's, 128 for Fashion-MNIST).")
    var batchSize: Int?
    @Option(help: "K, noisy passes averaged per test image for the TTN column (default: the preset's).")
    var ttn: Int?
    @Option(help: "Hold out this many training images as a validation set (seeded; default: the preset's). Every run is also evaluated on it.")
    var valSize: Int?
    @Option(help: "Evaluate validation and test sets after every this many epochs and after the last (default: the preset's).")
    var evalEvery: Int?
    @Option(help: "Seed of initialisation, subset, validation split, shuffling, augmentation and training noise (the same for every model); the first of --seeds.")
    var seed: UInt64 = 0
    @Option(help: "Train every model with this many seeds (--seed, --seed + 1, ...); tables show mean ± sd and the paired difference to the ODE with its 95 % interval (default: the preset's).")
    var seeds: Int?
    @Option(help: ArgumentHelp("Train only shard I of N of the runs (models x seeds; run i goes to shard i mod N + 1), e.g. 1/2 and 2/2 in two processes with the same --out; then run once without --shard for the report (finished runs are only read).", valueName: "I/N"))
    var shard: String?
    @Flag(help: "Print one JSON object (preset, dataset, budget, ttn_samples, models[{noise, sigma, accuracy, accuracy_ttn, ci95, ...}]) on stdout.")
    var json = false
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        for (flag, value) in [("--width", width), ("--steps", steps), ("--train-subset", trainSubset),
                              ("--test-subset", testSubset), ("--batch-size", batchSize), ("--gn-groups", gnGroups),
                              ("--eval-every", evalEvery), ("--seeds", seeds)] {
            if let value, value < 1 { throw ValidationError("\(flag) must be a positive integer, got \(value)") }
        }
        if let ttn, ttn < 0 { throw ValidationError("--ttn must be >= 0, got \(ttn)") }
        if let valSize, valSize < 0 { throw ValidationError("--val-size must be >= 0, got \(valSize)") }
        if let lr, !(lr.isFinite && lr > 0) { throw ValidationError("--lr must be a positive number, got \(lr)") }
        if let stages, ScheduleConfiguration.parseStages(stages) == nil {
            throw ValidationError("--stages must be comma-separated positive integers like 40,40,20,20, got '\(stages)'")
        }
        if let models { _ = try parsedModels(models) }
        if let out, out.isEmpty { throw ValidationError("--out needs a directory") }
        if let shard, ComparisonShard(parsing: shard) == nil {
            throw ValidationError("--shard must be I/N with 1 <= I <= N, like 1/2, got '\(shard)'")
        }
    }

    private func parsedModels(_ text: String) throws -> [NoiseSetting] {
        do {
            return try text.split(separator: ",").map { try NoiseSetting(parsing: String($0)) }
        } catch {
            throw ValidationError("--models: \(error)")
        }
    }

    /// `preset` on the chosen dataset with every given override applied.
    func configuration(preset: ComparisonPreset) throws -> NoiseComparisonConfiguration {
        var c = preset.configuration(dataset: dataset)
        if let models { c.models = try parsedModels(models) }
        if let width {
            c.training.model.width = width
            // A preset's groups belong to its width: a new width gets the paper's rule unless given.
            if gnGroups == nil, let g = c.training.model.groupNormGroups, width % g != 0 { c.training.model.groupNormGroups = nil }
        }
        if let gnGroups { c.training.model.groupNormGroups = gnGroups }
        if let steps { c.training.model.steps = steps }
        if let kind = optimizer, kind != c.training.optimizer.kind {
            c.training.optimizer = OptimizerConfiguration(kind: kind, learningRate: OptimizerConfiguration.defaultLearningRate(kind),
                                                          momentum: kind == .sgd ? 0.9 : 0)
        }
        if let lr { c.training.optimizer.learningRate = lr }
        if let valSize { c.training.validationSize = valSize > 0 ? valSize : nil }
        if let evalEvery { c.training.evaluationInterval = evalEvery }
        if let stages, let parsed = ScheduleConfiguration.parseStages(stages) {
            c.training.schedule = .staged(stages: parsed)
            c.training.epochs = parsed.reduce(0, +)
        }
        if let trainSubset { c.training.trainSubset = trainSubset }
        if let testSubset { c.training.testSubset = testSubset }
        if let batchSize { c.training.batchSize = batchSize }
        if let ttn { c.ttnSamples = ttn }
        c.training.seed = seed
        c.seeds = NoiseComparisonConfiguration.seeds(seeds ?? c.seeds.count, from: seed)
        if models != nil || width != nil || steps != nil || stages != nil || trainSubset != nil || testSubset != nil
            || batchSize != nil || ttn != nil || seed != 0 || gnGroups != nil || lr != nil || optimizer != nil || valSize != nil
            || seeds != nil {
            c.preset += "+overrides"
        }
        try c.validate()
        return c
    }

    /// Runs `configuration`, writes its reports into the output directory and prints the table
    /// (or the JSON report, with `ranks` under `--distributed`). `name` is the command's name for
    /// the default output directory. With several processes only rank 0 prints.
    func run(_ configuration: NoiseComparisonConfiguration, name: String, preset: ComparisonPreset,
             communicator: any Communicator = SingleProcess.shared, distributedOptions: DistributedOptions? = nil) throws {
        guard let (result, files) = try execute(configuration, name: name, preset: preset, communicator: communicator) else {
            return
        }
        if json {
            let data = try result.jsonData(pretty: false)
            FileHandle.standardOutput.write(try distributedOptions?.addingRanks(to: data, communicator) ?? data)
            print()
            return
        }
        printSummary(result, files: files)
    }

    /// Runs `configuration` (or this process's `--shard` of it) and writes its reports; returns
    /// `nil` for a shard (which writes no report). With several processes, process r trains and
    /// evaluates shard r of the runs (each a normal resumable run directory); after all have
    /// finished, rank 0 reads every run's results and writes the reports (the others return `nil`).
    func execute(_ configuration: NoiseComparisonConfiguration, name: String, preset: ComparisonPreset,
                 communicator: any Communicator = SingleProcess.shared) throws -> (result: NoiseComparisonResult, files: [URL])? {
        try threadOptions.apply()
        let outPath = out ?? (name == preset.rawValue ? "runs/\(name)" : "runs/\(name)-\(preset.rawValue)")
        let outURL = URL(fileURLWithPath: NSString(string: outPath).expandingTildeInPath).standardizedFileURL
        let dataDirectory = dataDir.map { URL(fileURLWithPath: NSString(string: $0).expandingTildeInPath).standardizedFileURL.path }
        let processes = communicator.size > 1 ? ", \(communicator.size) processes" : ""
        if communicator.isRoot {
            status("\(name) (preset \(configuration.preset)) on \(configuration.training.dataset): "
                   + configuration.models.map(\.description).joined(separator: ", ") + "; " + configuration.budgetDescription
                   + "; \(Parallel.threadCount) threads\(processes); output in \(outURL.path)")
        }
        let display = NoiseComparisonDisplay(ttnSamples: configuration.ttnSamples)
        let shard = try shard(for: communicator)
        var result = try runNoiseComparison(configuration, dataDirectory: dataDirectory, outputDirectory: outURL, shard: shard,
                                            progress: communicator.isRoot ? display.handler : nil)
        if communicator.size > 1 {
            try communicator.barrier()
            guard communicator.isRoot else { return nil }
            // Every run is finished: this only reads their results.
            result = try runNoiseComparison(configuration, dataDirectory: dataDirectory, outputDirectory: outURL, shard: nil,
                                            progress: display.handler)
        } else if let shard {
            status("shard \(shard) done (\(result.rows.count) runs); run again without --shard for the report")
            return nil
        }
        let files = try result.write(to: outURL, baseName: name == "demo" ? "demo" : "table1")
        return (result, files)
    }

    /// The runs this process trains: its `--shard`, or with several processes its share (run i to
    /// process i mod K, as `--shard` deals them); `nil`: all of them.
    func shard(for communicator: any Communicator) throws -> ComparisonShard? {
        let given = shard.flatMap(ComparisonShard.init(parsing:))
        guard communicator.size > 1 else { return given }
        guard given == nil else { throw ValidationError("give --distributed or --shard, not both") }
        return ComparisonShard(index: communicator.rank, count: communicator.size)
    }

    /// Prints the Markdown table and where the reports and checkpoints are.
    func printSummary(_ result: NoiseComparisonResult, files: [URL]) {
        print(result.markdownTable())
        print("Reports: " + files.map(\.path).joined(separator: ", "))
        print("Checkpoints: " + result.rows.compactMap { $0.runDirectory?.path }.joined(separator: ", ")
              + String(format: " (%@ in total)", ProgressBar.format(seconds: result.seconds)))
    }
}

import ArgumentParser
import Foundation
import NeuralSDE

/// Options shared by `nsde experiment table1` and `nsde demo`: the dataset, where the runs go,
/// and overrides of a preset's budget.
struct ComparisonOptions: ParsableArguments {
    @Option(help: "Dataset (\(DatasetName.allCases.map(\.rawValue).joined(separator: ", "))).")
    var dataset: String = DatasetName.fashionMNIST.rawValue
    @Option(help: ArgumentHelp("Directory of the dataset's files (default: the dataset's standard place).", valueName: "dir"))
    var dataDir: String?
    @Option(help: ArgumentHelp("Output directory of the runs and reports (default: runs/demo for `demo`, runs/table1-<preset> for `experiment table1`, runs/robustness-<preset> for `experiment robustness`).", valueName: "dir"))
    var out: String?
    @Option(help: ArgumentHelp("Comma-separated models NOISE[:SIGMA], e.g. ode,dropout:0.7 (default: the preset's; a bare name takes the paper's σ: additive 0.7, multiplicative 1, dropout 0.5).", valueName: "list"))
    var models: String?
    @Option(help: "Channels of the SDE block (default: the preset's).")
    var width: Int?
    @Option(help: "Euler–Maruyama steps on [0, 1] (default 11).")
    var steps: Int?
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
    @Option(help: "Seed of initialisation, shuffling, augmentation and training noise (the same for every model).")
    var seed: UInt64 = 0
    @Flag(help: "Print one JSON object (preset, dataset, budget, ttn_samples, models[{noise, sigma, accuracy, accuracy_ttn, ci95, ...}]) on stdout.")
    var json = false
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard DatasetName(rawValue: dataset) != nil else {
            throw ValidationError("--dataset must be one of \(DatasetName.allCases.map(\.rawValue).joined(separator: ", ")), got '\(dataset)'")
        }
        for (flag, value) in [("--width", width), ("--steps", steps), ("--train-subset", trainSubset),
                              ("--test-subset", testSubset), ("--batch-size", batchSize)] {
            if let value, value < 1 { throw ValidationError("\(flag) must be a positive integer, got \(value)") }
        }
        if let ttn, ttn < 0 { throw ValidationError("--ttn must be >= 0, got \(ttn)") }
        if let stages, ScheduleConfiguration.parseStages(stages) == nil {
            throw ValidationError("--stages must be comma-separated positive integers like 40,40,20,20, got '\(stages)'")
        }
        if let models { _ = try parsedModels(models) }
        if let out, out.isEmpty { throw ValidationError("--out needs a directory") }
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
        var c = preset.configuration(dataset: DatasetName(rawValue: dataset)!)
        if let models { c.models = try parsedModels(models) }
        if let width { c.training.model.width = width }
        if let steps { c.training.model.steps = steps }
        if let stages, let parsed = ScheduleConfiguration.parseStages(stages) {
            c.training.schedule = .staged(stages: parsed)
            c.training.epochs = parsed.reduce(0, +)
        }
        if let trainSubset { c.training.trainSubset = trainSubset }
        if let testSubset { c.training.testSubset = testSubset }
        if let batchSize { c.training.batchSize = batchSize }
        if let ttn { c.ttnSamples = ttn }
        c.training.seed = seed
        if models != nil || width != nil || steps != nil || stages != nil || trainSubset != nil || testSubset != nil
            || batchSize != nil || ttn != nil || seed != 0 {
            c.preset += "+overrides"
        }
        try c.validate()
        return c
    }

    /// Runs `configuration`, writes its reports into the output directory and prints the table
    /// (or the JSON report). `name` is the command's name for the default output directory.
    func run(_ configuration: NoiseComparisonConfiguration, name: String, preset: ComparisonPreset) throws {
        try threadOptions.apply()
        let outPath = out ?? (name == preset.rawValue ? "runs/\(name)" : "runs/\(name)-\(preset.rawValue)")
        let outURL = URL(fileURLWithPath: NSString(string: outPath).expandingTildeInPath).standardizedFileURL
        let dataDirectory = dataDir.map { URL(fileURLWithPath: NSString(string: $0).expandingTildeInPath).standardizedFileURL.path }
        status("\(name) (preset \(configuration.preset)) on \(configuration.training.dataset): "
               + configuration.models.map(\.description).joined(separator: ", ") + "; " + configuration.budgetDescription
               + "; \(Parallel.threadCount) threads; output in \(outURL.path)")
        let display = NoiseComparisonDisplay(ttnSamples: configuration.ttnSamples)
        let result = try runNoiseComparison(configuration, dataDirectory: dataDirectory, outputDirectory: outURL,
                                            progress: display.handler)
        let files = try result.write(to: outURL, baseName: name == "demo" ? "demo" : "table1")
        if json {
            FileHandle.standardOutput.write(try result.jsonData(pretty: false))
            print()
            return
        }
        print(result.markdownTable())
        print("Reports: " + files.map(\.path).joined(separator: ", "))
        print("Checkpoints: " + result.rows.compactMap { $0.runDirectory?.path }.joined(separator: ", ")
              + String(format: " (%@ in total)", ProgressBar.format(seconds: result.seconds)))
    }
}

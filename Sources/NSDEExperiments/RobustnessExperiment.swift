import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDEPlot
import NSDERobustness
import NSDETensor
import NSDETraining

/// What `nsde experiment robustness` runs: the paper's Table 2 (corruptions), Figure 3 (L2 PGD
/// against ε) and Figure 4 (hidden-state perturbation) for an ODE and a dropout SDE trained with
/// the same budget.
public struct RobustnessExperimentConfiguration: Sendable {
    /// A short name for reports (`quick`, `paper`, with `+overrides` when changed).
    public var preset: String
    /// The models and their training budget (trained, or reused when their run directories
    /// already hold complete checkpoints, e.g. those of `nsde experiment table1`).
    public var models: NoiseComparisonConfiguration
    /// Table 2: corruptions, severities, test images, TTN.
    public var corruption: CorruptionEvaluation
    /// Figure 3: the attack and its ε grid.
    public var attack: RobustAccuracy
    /// Test images attacked for Figure 3.
    public var attackImages: Int
    /// Figure 4: noise draws per expectation.
    public var perturbation: HiddenStatePerturbation
    /// Figure 4: the L2 radius of the adversaries.
    public var perturbationEpsilon: Float
    /// Figure 4: test images.
    public var perturbationImages: Int
    /// Figure 4: PGD iterations for the adversaries.
    public var perturbationAttackSteps: Int

    public init(preset: String, models: NoiseComparisonConfiguration, corruption: CorruptionEvaluation, attack: RobustAccuracy,
                attackImages: Int, perturbation: HiddenStatePerturbation, perturbationEpsilon: Float, perturbationImages: Int,
                perturbationAttackSteps: Int) {
        self.preset = preset
        self.models = models
        self.corruption = corruption
        self.attack = attack
        self.attackImages = attackImages
        self.perturbation = perturbation
        self.perturbationEpsilon = perturbationEpsilon
        self.perturbationImages = perturbationImages
        self.perturbationAttackSteps = perturbationAttackSteps
    }

    /// One sentence per part, for the report.
    public var budgetDescription: [String] {
        let eps = attack.epsilons.map { formatSigma($0) }.joined(separator: ", ")
        return [
            "Models: " + models.models.map(\.description).joined(separator: ", ") + "; " + models.budgetDescription + ".",
            "Table 2: \(corruption.corruptions.count) corruptions × severities \(corruption.severities.map(String.init).joined(separator: ",")) "
                + "on the first \(corruption.testSubset.map(String.init) ?? "all") test images, TTN K = \(corruption.ttnSamples), seed \(corruption.seed).",
            "Figure 3: \(attack.norm.rawValue) PGD (\(attack.update.name)), \(attack.steps) steps, ε ∈ {\(eps)}, EOT K = "
                + "\(attack.eotSamples ?? RobustAccuracy.defaultEOTSamples) for noisy models (and K = 1 reported), TTN K = \(attack.ttnSamples), "
                + "first \(attackImages) test images.",
            "Figure 4: L2 PGD ε = \(formatSigma(perturbationEpsilon)) (\(perturbationAttackSteps) steps), \(perturbationImages) test images, "
                + "E h_t over \(perturbation.draws) noise draws on the grid t = 0, 1/\(perturbation.gridSteps), …, 1.",
        ]
    }
}

/// The built-in budgets of ``RobustnessExperimentConfiguration``.
public enum RobustnessPreset: String, CaseIterable, Sendable {
    /// About 30 minutes on 2 cores once the models exist (reuse those of `nsde experiment table1
    /// --preset quick`, or add the ~25 minutes to train them): the quick Table 1 ODE and dropout
    /// models; 200 test images per corruption set with TTN K = 4; L2 PGD (the authors' Adam rule)
    /// with 20 steps on 100 images at ε ∈ {0, 0.5, 1, 1.5, 2}, EOT K = 4; Figure 4 on 16 images at
    /// ε = 0.5 with 10 noise draws.
    case quick
    /// The paper's protocol: width 64 models with the released training; the whole test set per
    /// corruption set with TTN K = 100; 40-step L2 PGD on 1,000 images at ε ∈ {0, 0.35, …, 3.15}
    /// (MNIST-type data; CIFAR-type: {0, 0.05, …, 0.5}) with EOT K = 10; Figure 4 on 100 images at
    /// ε = 0.1 with 100 draws. Days on this machine.
    case paper

    /// The configuration of this preset on `dataset`.
    ///
    /// - Throws: `RobustnessError` / ``ExperimentError`` (not for the built-in settings).
    public func configuration(dataset: DatasetName) throws -> RobustnessExperimentConfiguration {
        let greyscale = dataset.info.channels == 1
        switch self {
        case .quick:
            var models = ComparisonPreset.quick.configuration(dataset: dataset)
            models.models = [.paperDefault(.ode), .paperDefault(.dropout)]
            return RobustnessExperimentConfiguration(
                preset: rawValue, models: models,
                corruption: try CorruptionEvaluation(testSubset: 200, ttnSamples: 4, batchSize: 100),
                attack: RobustAccuracy(norm: .l2, epsilons: greyscale ? [0, 0.5, 1, 1.5, 2] : [0, 0.1, 0.2, 0.3, 0.5],
                                       steps: 20, update: .paper, eotSamples: 4, ttnSamples: 4, batchSize: 100),
                attackImages: 100, perturbation: HiddenStatePerturbation(draws: 10),
                perturbationEpsilon: greyscale ? 0.5 : 0.1, perturbationImages: 16, perturbationAttackSteps: 20)
        case .paper:
            var models = ComparisonPreset.paper.configuration(dataset: dataset)
            models.models = [.paperDefault(.ode), .paperDefault(.dropout)]
            let epsilons: [Float] = greyscale ? (0...9).map { Float($0) * 0.35 } : (0...10).map { Float($0) * 0.05 }
            return RobustnessExperimentConfiguration(
                preset: rawValue, models: models,
                corruption: try CorruptionEvaluation(ttnSamples: 100, batchSize: 100),
                attack: RobustAccuracy(norm: .l2, epsilons: epsilons, steps: 40, update: .paper, eotSamples: 10, ttnSamples: 100,
                                       batchSize: 100),
                attackImages: 1_000, perturbation: HiddenStatePerturbation(draws: 100),
                perturbationEpsilon: 0.1, perturbationImages: 100, perturbationAttackSteps: 40)
        }
    }
}

/// Progress reports of ``runRobustnessExperiment(_:dataDirectory:runsDirectory:outputDirectory:communicator:progress:)``.
public enum RobustnessEvent: Sendable {
    /// Training or evaluating the models.
    case models(NoiseComparisonEvent)
    /// A part starts: `"Table 2"`, `"Figure 3"` or `"Figure 4"`, with the model's name when per model.
    case partStarted(part: String, model: String?)
    /// Progress within the current part: `done` of `total` units (images or batches).
    case progress(done: Int, total: Int)
}

/// What ``runRobustnessExperiment(_:dataDirectory:runsDirectory:outputDirectory:communicator:progress:)`` measured.
public struct RobustnessExperimentResult: Sendable {
    /// The settings.
    public let configuration: RobustnessExperimentConfiguration
    /// The models, with their clean accuracy w/o and w/ TTN.
    public let models: NoiseComparisonResult
    /// Table 2, Figure 3 and Figure 4 of every seed's models, in seed order.
    public let seeds: [RobustnessSeedResult]
    /// Wall-clock seconds.
    public let seconds: Double

    /// Table 2 of the first seed's models.
    public var corruption: CorruptionReport { seeds[0].corruption }
    /// Figure 3 of the first seed's models.
    public var attack: RobustAccuracyFigure { seeds[0].attack }
    /// Figure 4 of the first seed's models.
    public var perturbation: HiddenStatePerturbationFigure { seeds[0].perturbation }
    /// Every model over the seeds, with its paired differences to the ODE.
    public var summary: RobustnessSeedSummary { RobustnessSeedSummary(seeds: seeds) }

    /// The report: the budget, the models' clean accuracy, with several seeds the summary over
    /// seeds (``RobustnessSeedSummary``), then Table 2, the Figure 3 table (with and without EOT)
    /// and Figure 4's r(t) at a few depths of the first seed, and links to every file.
    public func markdown() -> String {
        var lines = ["# Robustness of Neural ODE vs Neural SDE on \(models.dataset) (preset `\(configuration.preset)`)", ""]
        lines += configuration.budgetDescription.map { "- " + $0 }
        lines += ["", "Wall-clock time: \(Int(seconds.rounded())) s.", "", "## Models (clean test accuracy)", ""]
        lines.append(models.markdownTable())
        guard seeds.count > 1 else { return (lines + Self.details(seeds[0], directory: "")).joined(separator: "\n") + "\n" }
        lines += ["## Over seeds (seeds.csv, seeds.json, attack-mean.svg)", "", summary.markdown(),
                  "Each seed's full report: " + seeds.map { "[seed \($0.seed)](\(Self.seedDirectoryName($0.seed))/robustness.md)" }.joined(separator: ", ")
                  + ". The seed-\(seeds[0].seed) tables follow.", ""]
        lines += Self.details(seeds[0], directory: Self.seedDirectoryName(seeds[0].seed) + "/")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The name of a seed's folder in a report with several seeds.
    static func seedDirectoryName(_ seed: UInt64) -> String { "seed-\(seed)" }

    /// Table 2, the Figure 3 table and Figure 4 of one seed; file names prefixed by `directory`.
    static func details(_ seed: RobustnessSeedResult, directory d: String) -> [String] {
        var lines = ["## Table 2: accuracy under corruptions (\(d)corruption.md, .csv, .json, .svg)", "", seed.corruption.markdown(), ""]
        lines += ["## Figure 3: accuracy under L2 PGD (\(d)attack.csv, .json, .svg)", "",
                  "Accuracy (%) on adversarial images crafted against the model with its noise on; \"no EOT\" columns: the same attack with one noise draw per gradient.", "",
                  "| Model | ε | w/o TTN | w/ TTN | w/o TTN, no EOT | w/ TTN, no EOT | mean ‖δ‖₂ |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for curve in seed.attack.curves {
            for p in curve.result.points {
                lines.append("| \(curve.name) | \(formatSigma(p.epsilon)) | \(percent(p.accuracy)) | \(percent(p.accuracyTTN)) | "
                             + "\(percent(p.accuracyNoEOT)) | \(percent(p.accuracyTTNNoEOT)) | \(String(format: "%.3f", p.meanNorm)) |")
            }
        }
        lines += ["", "## Figure 4: hidden-state perturbation (\(d)perturb.csv, .svg)", "",
                  "r(t) = ‖E h_t(x_adv) − E h_t(x)‖ / ‖E h_t(x)‖, mean ± standard deviation over images.", "",
                  "| Model | r(0) | r(0.5) | r(1) |", "| --- | --- | --- | --- |"]
        for curve in seed.perturbation.curves {
            let r = curve.result
            func at(_ t: Double) -> String {
                guard let j = r.times.indices.min(by: { abs(r.times[$0] - t) < abs(r.times[$1] - t) }) else { return "–" }
                return String(format: "%.4f ± %.4f", r.meanRelativeDistance[j], r.stdRelativeDistance[j])
            }
            lines.append("| \(curve.name) | \(at(0)) | \(at(0.5)) | \(at(1)) |")
        }
        return lines
    }

    /// Writes the report into `directory`, each file atomically, and returns the files. With one
    /// seed: `robustness.md`, the Table 2 files, `attack.{csv,json,svg}`, `perturb.{csv,svg}` and
    /// the models' `models.*`/`curves.svg`. With several: `robustness.md` (summary over seeds and
    /// the first seed's tables), `seeds.{csv,json}`, `attack-mean.svg` (Figure 3 averaged over
    /// seeds) and the models' files, and each seed's files (as with one seed) in `seed-<s>/`.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files = try models.write(to: directory, baseName: "models")
        let report = directory.appendingPathComponent("robustness.md")
        guard seeds.count > 1 else {
            files += try Self.writeDetails(seeds[0], to: directory)
            try AtomicFile.write(markdown(), to: report)
            return files + [report]
        }
        for seed in seeds {
            let seedDirectory = directory.appendingPathComponent(Self.seedDirectoryName(seed.seed))
            try FileManager.default.createDirectory(at: seedDirectory, withIntermediateDirectories: true)
            files += try Self.writeDetails(seed, to: seedDirectory)
            let seedReport = seedDirectory.appendingPathComponent("robustness.md")
            var lines = ["# Robustness on \(models.dataset), models of seed \(seed.seed) (preset `\(configuration.preset)`)", ""]
            lines += configuration.budgetDescription.map { "- " + $0 } + [""] + Self.details(seed, directory: "")
            try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: seedReport)
            files.append(seedReport)
        }
        let summary = self.summary
        let csv = directory.appendingPathComponent("seeds.csv"), json = directory.appendingPathComponent("seeds.json")
        try AtomicFile.write(summary.csv(), to: csv)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try encoder.encode(summary.jsonReport()), to: json)
        let meanSVG = directory.appendingPathComponent("attack-mean.svg")
        try summary.meanAttackFigure(seeds).plot().write(to: meanSVG)
        try AtomicFile.write(markdown(), to: report)
        return files + [csv, json, meanSVG, report]
    }

    /// Writes one seed's Table 2, Figure 3 and Figure 4 files into `directory`.
    static func writeDetails(_ seed: RobustnessSeedResult, to directory: URL) throws -> [URL] {
        var files = try seed.corruption.write(to: directory)
        let attackCSV = directory.appendingPathComponent("attack.csv"), attackSVG = directory.appendingPathComponent("attack.svg")
        try seed.attack.write(csv: attackCSV, svg: attackSVG)
        let attackJSON = directory.appendingPathComponent("attack.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(seed.attack.curves.map { AttackEntry(model: $0.name, result: $0.result) }), to: attackJSON)
        let perturbCSV = directory.appendingPathComponent("perturb.csv"), perturbSVG = directory.appendingPathComponent("perturb.svg")
        try seed.perturbation.write(csv: perturbCSV, svg: perturbSVG)
        files += [attackCSV, attackJSON, attackSVG, perturbCSV, perturbSVG]
        return files
    }

    private struct AttackEntry: Encodable {
        let model: String
        let result: RobustAccuracyResult
    }
}

/// Trains (or reuses) the configuration's models, then measures Table 2, Figure 3 and Figure 4
/// on the models of every seed (see ``RobustnessExperimentConfiguration``).
///
/// - Parameters:
///   - configuration: what to run.
///   - dataDirectory: the dataset's directory (`nil`: its default place).
///   - runsDirectory: where the models' `nsde train` runs are (or go): complete runs of the same
///     configuration are reused without training (e.g. `runs/table1-quick`).
///   - outputDirectory: where each seed's measurements are kept (`seed-<s>/robustness-seed.json`)
///     as soon as they are done: a seed measured before with the same settings and the same
///     trained weights is read instead of measured again, so an interrupted experiment resumes
///     at the seed it stopped in. `nil`: nothing is kept.
///   - communicator: the processes that share the work (default: this one). With several, the
///     runs are dealt over them (run i to process i mod size, each trained alone into its run
///     directory in `runsDirectory`, which every process must see; without one, every run is
///     trained data-parallel by all of them), then every process reads every run; Table 2's and
///     Figure 3's batches are dealt over the processes, Figure 4's models likewise (model i to
///     process i mod size), and every process receives every result: equal to one process's
///     (up to the summation order of data-parallel training). Rank 0 alone reports progress and
///     writes the seed records. Every process must call with the same arguments.
///   - progress: called with each ``RobustnessEvent``.
/// - Throws: the errors of ``runNoiseComparison(_:dataDirectory:outputDirectory:shard:communicator:progress:)``,
///   ``CorruptionEvaluation``, ``RobustAccuracy`` and ``HiddenStatePerturbation``.
public func runRobustnessExperiment(_ configuration: RobustnessExperimentConfiguration, dataDirectory: String? = nil,
                                    runsDirectory: URL?, outputDirectory: URL? = nil,
                                    communicator: any Communicator = SingleProcess.shared,
                                    progress: ((RobustnessEvent) -> Void)? = nil) throws -> RobustnessExperimentResult {
    let start = Date()
    let progress = communicator.isRoot ? progress : nil
    if communicator.size > 1, let runsDirectory {
        // This process's share of the runs, each a normal resumable run directory.
        _ = try runNoiseComparison(configuration.models, dataDirectory: dataDirectory, outputDirectory: runsDirectory,
                                   shard: ComparisonShard(index: communicator.rank, count: communicator.size)) {
            progress?(.models($0))
        }
        try communicator.barrier()
    }
    // With several processes every run is complete now, and this only reads them.
    let models = try runNoiseComparison(configuration.models, dataDirectory: dataDirectory, outputDirectory: runsDirectory,
                                        communicator: communicator) { progress?(.models($0)) }
    let training = configuration.models.training
    let directory = dataDirectory ?? training.dataDirectory
    let test = try TrainingData.load(training.dataset, split: .test, dataDirectory: directory)
    var seeds: [RobustnessSeedResult] = []
    for seed in configuration.models.seeds {
        let rows = models.rows.filter { $0.seed == seed }
        let key = configuration.budgetDescription.joined(separator: "\n") + "\n" + rows.map {
            "\($0.setting.description) \($0.runDirectory?.lastPathComponent ?? "-") epochs \($0.history.count) weights \(weightDigest($0.stateDict))"
        }.joined(separator: "\n")
        let seedDirectory = outputDirectory?.appendingPathComponent(RobustnessExperimentResult.seedDirectoryName(seed))
        if let seedDirectory, let record = try RobustnessSeedRecord.read(from: seedDirectory, key: key, communicator: communicator) {
            progress?(.partStarted(part: "Seed \(seed): measured before, read from \(seedDirectory.path)", model: nil))
            seeds.append(record.result(dataset: training.dataset))
            continue
        }
        var classifiers: [(name: String, row: NoiseComparisonRow, model: PaperClassifier)] = []
        for row in rows {
            var run = configuration.models.training(for: row.setting, seed: row.seed)
            run.dataDirectory = directory
            let model = run.model.makeModel()
            try model.loadStateDict(row.stateDict)
            model.eval()
            classifiers.append((row.setting.description, row, model))
        }
        let seedResult = try measureRobustness(configuration, classifiers: classifiers, test: test, seed: seed,
                                               dataset: training.dataset, communicator: communicator, progress: progress)
        if let seedDirectory, communicator.isRoot { try RobustnessSeedRecord(key: key, result: seedResult).write(to: seedDirectory) }
        seeds.append(seedResult)
    }
    return RobustnessExperimentResult(configuration: configuration, models: models, seeds: seeds, seconds: Date().timeIntervalSince(start))
}

/// Table 2, Figure 3 and Figure 4 of one seed's models, the work shared by `communicator`'s
/// processes (see ``runRobustnessExperiment(_:dataDirectory:runsDirectory:outputDirectory:communicator:progress:)``).
private func measureRobustness(_ configuration: RobustnessExperimentConfiguration,
                               classifiers: [(name: String, row: NoiseComparisonRow, model: PaperClassifier)],
                               test: InMemoryImageDataset, seed: UInt64, dataset: String, communicator: any Communicator,
                               progress: ((RobustnessEvent) -> Void)?) throws -> RobustnessSeedResult {
    let seedLabel = configuration.models.seeds.count > 1 ? " (seed \(seed))" : ""
    // Table 2.
    progress?(.partStarted(part: "Table 2" + seedLabel, model: nil))
    // In memory, the clean set is what gets corrupted: its first `testSubset` images.
    let corruptionClean = configuration.corruption.cifar10cDirectory == nil
        ? test.subset(min(configuration.corruption.testSubset ?? test.count, test.count)) : test
    let corruptionResults = try configuration.corruption.run(classifiers.map(\.model), clean: corruptionClean,
                                                             communicator: communicator) { done, total, _ in
        progress?(.progress(done: done, total: total))
    }
    let corruption = CorruptionReport(dataset: dataset, entries: zip(classifiers, corruptionResults).map { c, r in
        CorruptionReport.Entry(label: c.name, checkpoint: c.row.runDirectory?.path,
                               noise: c.row.setting.noise.rawValue, sigma: c.row.setting.sigma, result: r)
    })

    // Figure 3.
    let attackSet = test.subset(min(configuration.attackImages, test.count))
    var attackCurves: [RobustAccuracyFigure.Curve] = []
    for c in classifiers {
        progress?(.partStarted(part: "Figure 3" + seedLabel, model: c.name))
        let result = try configuration.attack.run(c.model, on: attackSet, communicator: communicator) { done, total in
            progress?(.progress(done: done, total: total))
        }
        attackCurves.append(.init(name: c.name, result: result))
    }

    // Figure 4.
    let perturbSet = test.subset(min(configuration.perturbationImages, test.count))
    let (clean, labels) = perturbSet.batch(indices: Array(0..<perturbSet.count))
    // The models dealt over the processes (model i to process i mod size), every result to every process.
    if communicator.size > 1 {
        progress?(.partStarted(part: "Figure 4" + seedLabel,
                               model: classifiers.map(\.name).joined(separator: ", ") + " (over \(communicator.size) processes)"))
    }
    var mine: [HiddenStatePerturbationResult] = []
    for i in communicator.share(of: classifiers.count) {
        let c = classifiers[i]
        if communicator.size == 1 { progress?(.partStarted(part: "Figure 4" + seedLabel, model: c.name)) }
        let settings = RobustAccuracy(norm: .l2, epsilons: [configuration.perturbationEpsilon], steps: configuration.perturbationAttackSteps,
                                      update: configuration.attack.update, eotSamples: configuration.attack.eotSamples,
                                      seed: configuration.attack.seed)
        let attack = settings.attack(epsilon: configuration.perturbationEpsilon, eotSamples: settings.effectiveEOTSamples(for: c.model), batch: 0)
        let adversarial = try attack.perturb(clean, labels: labels, model: c.model)
        mine.append(try configuration.perturbation.measure(c.model, clean: clean, adversarial: adversarial))
    }
    let perturbResults = try gatherDealt(mine, count: classifiers.count, communicator: communicator)
    let perturbCurves = zip(classifiers, perturbResults).map { HiddenStatePerturbationFigure.Curve(name: $0.name, result: $1) }
    return RobustnessSeedResult(seed: seed, corruption: corruption, attack: RobustAccuracyFigure(curves: attackCurves),
                                perturbation: HiddenStatePerturbationFigure(curves: perturbCurves, epsilon: configuration.perturbationEpsilon))
}

/// The `count` values dealt round-robin over `communicator`'s processes (value i computed by
/// process i mod size, which passes its values in order as `mine`), in order on every process.
/// They travel as JSON (exact for finite values; non-finite ones as strings).
private func gatherDealt<T: Codable>(_ mine: [T], count: Int, communicator: any Communicator) throws -> [T] {
    guard communicator.size > 1 else { return mine }
    let encoder = JSONEncoder()
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let parts = try communicator.allGather(Array(try encoder.encode(mine))).map { try decoder.decode([T].self, from: Data($0)) }
    return try (0..<count).map { i in
        let (r, j) = (i % communicator.size, i / communicator.size)
        guard r < parts.count, j < parts[r].count else {
            throw ExperimentError.invalidParameter(name: "processes", value: "no result \(i) from process \(r)",
                                                   expected: "every result once (the same arguments on every process)")
        }
        return parts[r][j]
    }
}

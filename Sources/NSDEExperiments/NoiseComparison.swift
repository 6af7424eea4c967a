import Foundation
import NSDEData
import NSDEModels
import NSDETraining

/// One model of a noise comparison (the rows of the paper's Table 1): the SDE block's noise
/// type and its training σ (also its TTN σ).
public struct NoiseSetting: Equatable, Sendable, CustomStringConvertible {
    /// The diffusion of the SDE block.
    public var noise: BlockNoise
    /// σ in training and for test-time noise (0 for the ODE).
    public var sigma: Float

    /// - Precondition: `sigma` is finite and ≥ 0.
    public init(noise: BlockNoise, sigma: Float) {
        precondition(sigma.isFinite && sigma >= 0, "NoiseSetting: σ must be finite and ≥ 0, got \(sigma)")
        self.noise = noise
        self.sigma = noise == .ode ? 0 : sigma
    }

    /// `noise` at the paper's released σ (``BlockNoise/paperDefaultSigma``).
    public static func paperDefault(_ noise: BlockNoise) -> NoiseSetting {
        NoiseSetting(noise: noise, sigma: noise.paperDefaultSigma)
    }

    /// The four models of the paper's Table 1 with their default σ.
    public static let table1: [NoiseSetting] = [.ode, .additive, .multiplicative, .dropout].map(paperDefault)

    /// Column heading, e.g. `ODE`, `Dropout (σ 0.5)`.
    public var description: String {
        let name: String
        switch noise {
        case .ode: return "ODE"
        case .additive: name = "Additive"
        case .multiplicative: name = "Multiplicative"
        case .dropout: name = "Dropout"
        case .learned: name = "Learned"
        }
        return "\(name) (σ \(formatSigma(sigma)))"
    }

    /// Parses `noise` or `noise:σ`, e.g. `dropout:0.7`; a bare name takes ``paperDefault(_:)``.
    ///
    /// - Throws: ``ExperimentError/invalidParameter(name:value:expected:)`` naming the entry.
    public init(parsing text: String) throws(ExperimentError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let names = BlockNoise.allCases.map(\.rawValue).joined(separator: ", ")
        guard (1...2).contains(parts.count), let noise = BlockNoise(rawValue: parts[0]) else {
            throw .invalidParameter(name: "model", value: text, expected: "NOISE or NOISE:SIGMA with NOISE one of \(names)")
        }
        guard parts.count == 2 else { self = .paperDefault(noise); return }
        guard let sigma = Float(parts[1]), sigma.isFinite, sigma >= 0 else {
            throw .invalidParameter(name: "model", value: text, expected: "a σ that is a finite number ≥ 0 after the colon")
        }
        self.init(noise: noise, sigma: sigma)
    }

    /// The directory name of this model's run inside an experiment's output, e.g. `dropout-0.5`.
    public var runName: String { noise == .ode ? "ode" : "\(noise.rawValue)-\(formatSigma(sigma))" }
}

/// `σ` printed without trailing zeros (0.5, 1, 0.75).
func formatSigma(_ sigma: Float) -> String { String(format: "%g", Double(sigma)) }

/// What a noise comparison trains and how it evaluates: every model shares the dataset,
/// architecture, width, steps, seed, optimiser, schedule and data budget, and differs only in its
/// ``NoiseSetting``. The paper's Table 1 and the demo are instances.
public struct NoiseComparisonConfiguration: Equatable, Sendable {
    /// A short name for reports (`quick`, `paper`, `demo`, `custom`).
    public var preset: String
    /// The run every model shares; its model's noise and σ are replaced per ``models`` entry.
    public var training: TrainingConfiguration
    /// The models to train, in table order.
    public var models: [NoiseSetting]
    /// K, noisy passes averaged per test image for the TTN column (paper: 100).
    public var ttnSamples: Int
    /// Key of the TTN noise.
    public var ttnSeed: UInt64
    /// The run seeds: every model is trained once per seed, and the runs of one seed share the
    /// initial weights (up to the diffusion's own parameters), the training subset, the validation
    /// split, the data order and augmentation, so SDE and ODE are compared pairwise by seed.
    public var seeds: [UInt64]
    /// Clean accuracy (σ = 0, no augmentation) is measured on the first this many examples of each
    /// model's training subset, for the generalisation gap (train − test).
    public var trainEvaluationSize: Int
    /// Whether each run's directory names its seed (`<runName>/seed-<seed>`); otherwise a model's
    /// one run is `<runName>`. Default: with several seeds. Presets that use seeds set it, so that
    /// a one-seed σ search and a several-seed Table 1 of the same preset share their runs.
    public var seedDirectories: Bool
    /// The split of each run's final evaluation (w/o and w/ TTN): the test set (Table 1), or the
    /// validation split held out of the training data (the σ search, which must never look at the
    /// test set).
    public var evaluationSplit: EvaluationSplit

    /// Which data a comparison's final evaluation uses.
    public enum EvaluationSplit: String, Sendable {
        /// The test set (or its ``TrainingConfiguration/testSubset``); the validation split, if
        /// any, is evaluated as well.
        case test
        /// The validation split (``TrainingConfiguration/validationSize`` must be set).
        case validation
    }

    /// - Parameters: see the properties; `seeds` defaults to `[training.seed]`.
    public init(preset: String, training: TrainingConfiguration, models: [NoiseSetting], ttnSamples: Int, ttnSeed: UInt64 = 0,
                seeds: [UInt64]? = nil, trainEvaluationSize: Int = 2_000, evaluationSplit: EvaluationSplit = .test,
                seedDirectories: Bool? = nil) {
        self.preset = preset
        self.training = training
        self.models = models
        self.ttnSamples = ttnSamples
        self.ttnSeed = ttnSeed
        self.seeds = seeds ?? [training.seed]
        self.trainEvaluationSize = trainEvaluationSize
        self.evaluationSplit = evaluationSplit
        self.seedDirectories = seedDirectories ?? (self.seeds.count > 1)
    }

    /// `count` consecutive seeds from `first` (`first`, `first + 1`, …).
    public static func seeds(_ count: Int, from first: UInt64) -> [UInt64] { (0..<count).map { first &+ UInt64($0) } }

    /// The training run of one model with the first seed.
    public func training(for setting: NoiseSetting) -> TrainingConfiguration { training(for: setting, seed: seeds.first ?? training.seed) }

    /// The training run of one model and seed.
    public func training(for setting: NoiseSetting, seed: UInt64) -> TrainingConfiguration {
        var c = training
        c.model.noise = setting.noise
        c.model.sigma = setting.sigma
        c.model.testSigma = setting.sigma
        c.seed = seed
        return c
    }

    /// The run directory of one model and seed, relative to the experiment's output:
    /// `<runName>/seed-<seed>` (e.g. `dropout-0.5/seed-1`) with ``seedDirectories``, else the
    /// model's ``NoiseSetting/runName``.
    public func runPath(for setting: NoiseSetting, seed: UInt64) -> String {
        seedDirectories || seeds.count > 1 ? "\(setting.runName)/seed-\(seed)" : setting.runName
    }

    /// Checks every model's run and the evaluation settings.
    ///
    /// - Throws: ``ExperimentError/invalidParameter(name:value:expected:)``.
    public func validate() throws(ExperimentError) {
        guard !models.isEmpty else { throw .invalidParameter(name: "models", value: "none", expected: "at least one model") }
        let names = models.map(\.runName)
        if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw .invalidParameter(name: "models", value: duplicate, expected: "each noise/σ pair at most once")
        }
        guard ttnSamples >= 0 else { throw .invalidParameter(name: "ttn", value: "\(ttnSamples)", expected: "an integer ≥ 0") }
        guard !seeds.isEmpty else { throw .invalidParameter(name: "seeds", value: "none", expected: "at least one seed") }
        guard Set(seeds).count == seeds.count else {
            throw .invalidParameter(name: "seeds", value: seeds.map(String.init).joined(separator: ","), expected: "distinct seeds")
        }
        guard trainEvaluationSize >= 0 else {
            throw .invalidParameter(name: "train_evaluation_size", value: "\(trainEvaluationSize)", expected: "an integer ≥ 0")
        }
        if evaluationSplit == .validation, (training.validationSize ?? 0) < 1 {
            throw .invalidParameter(name: "val_size", value: "\(training.validationSize ?? 0)",
                                    expected: "a validation split (val_size ≥ 1) to evaluate on")
        }
        for setting in models {
            do { try training(for: setting).validate() } catch { throw .training(error) }
        }
    }

    /// One sentence stating the budget (printed by the CLI and written into the reports).
    public var budgetDescription: String {
        let c = training
        let train = c.trainSubset.map { "\($0) training images" } ?? "the full training set"
        let test = c.testSubset.map { "the first \($0) test images" } ?? "the full test set"
        let schedule: String
        switch c.schedule {
        case let .staged(stages, _): schedule = "stages \(stages.map(String.init).joined(separator: ","))"
        case let .perEpoch(rates): schedule = "\(rates.count) per-epoch rates"
        }
        let validation = c.validationSize.map { $0 > 0 ? ", \($0) training images held out for validation" : "" } ?? ""
        let seedText = seeds.count == 1 ? "seed \(seeds[0])" : "\(seeds.count) seeds (\(seeds.map(String.init).joined(separator: ", ")))"
        return "\(c.model.architecture.rawValue) width \(c.model.width) (\(c.model.effectiveGroupNormGroups) GroupNorm groups), "
            + "\(c.model.steps) \(c.model.solver.rawValue) steps, "
            + "\(c.epochs) epochs of \(train) (batch \(c.batchSize), \(c.optimizer.kind.rawValue) lr \(formatSigma(c.optimizer.learningRate)), "
            + "\(schedule), crop padding \(c.cropPadding))\(validation), \(seedText); evaluated on \(test), TTN K = \(ttnSamples)"
    }
}

/// The built-in budgets of ``NoiseComparisonConfiguration``.
public enum ComparisonPreset: String, CaseIterable, Sendable {
    /// About 30 minutes on 2 cores for the four Table 1 models on Fashion-MNIST: width 16, 8,000
    /// training images, 3 epochs (stages 2,1) in batches of 32, 2,000 test images, TTN K = 10.
    ///
    /// Batch 32 rather than the paper's 128: the paper's classifier (GroupNorm right before the
    /// global pool) learns slowly in its first few hundred updates — the same in PyTorch — so a
    /// short budget needs the extra updates of smaller batches.
    case quick
    /// The authors' released setup: width 64 (paper-big: 256), the full data, stages 40,40,20,20
    /// (STL-10 30,30,20,20), batch 128, TTN K = 100.
    case paper
    /// The README demo's short run: ODE and dropout-SDE (σ 0.3) only, width 16 with 8 GroupNorm groups, 4
    /// Euler–Maruyama steps, 8,000 training images, 3 epochs (stages 2,1, SGD lr 0.05) in batches
    /// of 32, 2,000 test images, TTN K = 10 (a few minutes).
    case demo
    /// A regime where the ODE overfits, sized for 2 cores: width 16 with 8 GroupNorm groups (the
    /// paper's 2 channels per group), 4 Euler–Maruyama steps, 500 training images trained for 100
    /// epochs (stages 75,25, SGD lr 0.05, batch 32), 2,000 validation images held out of the
    /// training data, 2,000 test images, TTN K = 10, 3 seeds.
    case overfit
    /// The overfit preset's model and optimiser with 16 times the data: 8,000 training images for
    /// 16 epochs (stages 12,4; 4,000 updates), 2,000 validation images, 2,000 test images, TTN
    /// K = 10, 3 seeds. About an hour for 12 runs with --shard on 2 cores.
    case moreData = "more-data"

    /// The presets of `nsde experiment table1` and `sigma-search`.
    public static let tablePresets: [ComparisonPreset] = [.quick, .overfit, .moreData, .paper]
    /// The validation split of a σ search whose preset has none.
    public static let defaultValidationSize = 2_000

    /// The overfit and more-data regimes: `trainSubset` images for `stages` (SGD lr 0.05, batch
    /// 32), 2,000 validation and 2,000 test images, TTN K = 10, seeds 0, 1, 2.
    private static func smallDataRegime(_ base: TrainingConfiguration, preset: String, trainSubset: Int, stages: [Int],
                                        evaluationInterval: Int) -> NoiseComparisonConfiguration {
        var training = base
        training.schedule = .staged(stages: stages)
        training.epochs = stages.reduce(0, +)
        training.batchSize = 32
        training.optimizer.learningRate = 0.05
        training.trainSubset = trainSubset
        training.validationSize = 2_000
        training.evaluationInterval = evaluationInterval
        training.testSubset = 2_000
        return NoiseComparisonConfiguration(preset: preset, training: training, models: NoiseSetting.table1, ttnSamples: 10,
                                            seeds: NoiseComparisonConfiguration.seeds(3, from: 0), seedDirectories: true)
    }

    /// The configuration of this preset on `dataset`, with the Table 1 models (the demo: ODE and
    /// dropout).
    public func configuration(dataset: DatasetName) -> NoiseComparisonConfiguration {
        var model = ModelConfiguration(architecture: dataset == .stl10 ? .paperBig : .paperSmall)
        switch self {
        case .paper:
            break
        case .quick:
            model.width = 16
        case .demo, .overfit, .moreData:
            model.width = 16
            model.groupNormGroups = 8
            model.steps = 4
        }
        var training = TrainingConfiguration.forDataset(dataset, model: model)
        training.evaluationBatchSize = 250
        switch self {
        case .paper:
            return NoiseComparisonConfiguration(preset: rawValue, training: training, models: NoiseSetting.table1, ttnSamples: 100)
        case .quick:
            training.schedule = .staged(stages: [2, 1])
            training.epochs = 3
            training.batchSize = 32
            training.trainSubset = 8_000
            training.testSubset = 2_000
            return NoiseComparisonConfiguration(preset: rawValue, training: training, models: NoiseSetting.table1, ttnSamples: 10)
        case .demo:
            training.schedule = .staged(stages: [2, 1])
            training.epochs = 3
            training.batchSize = 32
            training.optimizer.learningRate = 0.05
            // 20,000 images: about 45 s per model on 2 cores since batches are split per thread
            // (the session-7 build); enough to be well past chance (≈ 74–76 %) in a short demo.
            training.trainSubset = 20_000
            training.testSubset = 2_000
            // The dropout σ chosen by the σ search on the overfit preset (docs/table1.md), as the
            // shipped demo models use.
            return NoiseComparisonConfiguration(preset: rawValue, training: training,
                                                models: [.paperDefault(.ode), NoiseSetting(noise: .dropout, sigma: 0.3)], ttnSamples: 10)
        case .overfit:
            return Self.smallDataRegime(training, preset: rawValue, trainSubset: 500, stages: [75, 25], evaluationInterval: 10)
        case .moreData:
            return Self.smallDataRegime(training, preset: rawValue, trainSubset: 8_000, stages: [12, 4], evaluationInterval: 4)
        }
    }
}

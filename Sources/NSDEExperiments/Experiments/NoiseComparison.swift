import Foundation
import NSDEData
import NSDEModels

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

    /// The paper's released σ for `noise` on CIFAR-10 (the low end of the released ranges:
    /// additive 0.7, multiplicative 1.0–1.8, dropout 0.5–0.9, learned 0.5; ODE 0).
    public static func paperDefault(_ noise: BlockNoise) -> NoiseSetting {
        switch noise {
        case .ode: return NoiseSetting(noise: .ode, sigma: 0)
        case .additive: return NoiseSetting(noise: .additive, sigma: 0.7)
        case .multiplicative: return NoiseSetting(noise: .multiplicative, sigma: 1.0)
        case .dropout, .learned: return NoiseSetting(noise: noise, sigma: 0.5)
        }
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

    public init(preset: String, training: TrainingConfiguration, models: [NoiseSetting], ttnSamples: Int, ttnSeed: UInt64 = 0) {
        self.preset = preset
        self.training = training
        self.models = models
        self.ttnSamples = ttnSamples
        self.ttnSeed = ttnSeed
    }

    /// The training run of one model.
    public func training(for setting: NoiseSetting) -> TrainingConfiguration {
        var c = training
        c.model.noise = setting.noise
        c.model.sigma = setting.sigma
        c.model.testSigma = setting.sigma
        return c
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
        for setting in models { try training(for: setting).validate() }
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
        return "\(c.model.architecture.rawValue) width \(c.model.width), \(c.model.steps) \(c.model.solver.rawValue) steps, "
            + "\(c.epochs) epochs of \(train) (batch \(c.batchSize), \(c.optimizer.kind.rawValue) lr \(formatSigma(c.optimizer.learningRate)), "
            + "\(schedule), crop padding \(c.cropPadding)), seed \(c.seed); evaluated on \(test), TTN K = \(ttnSamples)"
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
    /// The README demo: ODE and dropout-SDE only, width 16, 3,000 training images, 3 epochs
    /// (stages 2,1) in batches of 32, 1,000 test images, TTN K = 10 (a few minutes).
    case demo

    /// The configuration of this preset on `dataset`, with the Table 1 models (the demo: ODE and
    /// dropout).
    public func configuration(dataset: DatasetName) -> NoiseComparisonConfiguration {
        var model = ModelConfiguration(architecture: dataset == .stl10 ? .paperBig : .paperSmall)
        switch self {
        case .paper:
            break
        case .quick, .demo:
            model.width = 16
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
            training.trainSubset = 3_000
            training.testSubset = 1_000
            return NoiseComparisonConfiguration(preset: rawValue, training: training,
                                                models: [.paperDefault(.ode), .paperDefault(.dropout)], ttnSamples: 10)
        }
    }
}

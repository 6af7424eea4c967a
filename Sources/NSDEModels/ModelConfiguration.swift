import Foundation
import NSDEData
import NSDECore
import NSDENN

/// Everything that defines a ``PaperClassifier``: architecture, input and output sizes, width,
/// the SDE block's noise, σ in training and at test time, and how the block is solved and
/// differentiated. Stored in checkpoints (`checkpoint.json`, and the `nsde.model` metadata of
/// `model.safetensors`), so a saved model can be rebuilt.
public struct ModelConfiguration: Codable, Equatable, Sendable {
    /// The paper's two classifiers.
    public enum Architecture: String, Codable, CaseIterable, Sendable {
        /// MNIST, Fashion-MNIST, CIFAR-10 (115,594 parameters for 3 channels, 10 classes).
        case paperSmall = "paper-small"
        /// STL-10, Tiny-ImageNet (2,440,202 parameters for 10 classes).
        case paperBig = "paper-big"

        /// The SDE block's channels in the paper: 64 (small) or 256 (big).
        public var defaultWidth: Int { self == .paperSmall ? 64 : 256 }
    }

    /// Which classifier.
    public var architecture: Architecture
    /// Input channels (1 grey, 3 colour).
    public var inChannels: Int
    /// Number of classes (the logits' width).
    public var classes: Int
    /// Channels of the SDE block (paper: ``Architecture/defaultWidth``).
    public var width: Int
    /// The diffusion G of the block.
    public var noise: BlockNoise
    /// σ in training mode.
    public var sigma: Float
    /// σ in evaluation mode, the default of `nsde eval --test-sigma` (paper: equal to ``sigma``).
    public var testSigma: Float
    /// Solver steps on [0, T] (paper: 11).
    public var steps: Int
    /// The horizon T (paper: 1), model time units.
    public var horizon: Float
    /// The block's solver (paper: Euler–Maruyama).
    public var solver: SolverKind
    /// How gradients pass through the block (paper: backprop).
    public var gradient: GradientMethod
    /// G of the GroupNorms on the block's channels (`nil`: the paper's min(32, width)). JSON key
    /// `gn_groups`, absent when `nil`, so checkpoints written before the option read unchanged.
    public var groupNormGroups: Int?

    /// The GroupNorm groups the model is built with (``groupNormGroups`` or the paper's).
    public var effectiveGroupNormGroups: Int { groupNormGroups ?? PaperClassifier.defaultGroupNormGroups(channels: width) }

    /// - Parameters: see the properties; `width` defaults to the paper's, `testSigma` to `sigma`.
    public init(architecture: Architecture = .paperSmall, inChannels: Int = 3, classes: Int = 10, width: Int? = nil,
                noise: BlockNoise = .ode, sigma: Float = 0, testSigma: Float? = nil, steps: Int = 11, horizon: Float = 1,
                solver: SolverKind = .eulerMaruyama, gradient: GradientMethod = .backprop, groupNormGroups: Int? = nil) {
        self.architecture = architecture
        self.inChannels = inChannels
        self.classes = classes
        self.width = width ?? architecture.defaultWidth
        self.noise = noise
        self.sigma = sigma
        self.testSigma = testSigma ?? sigma
        self.steps = steps
        self.horizon = horizon
        self.solver = solver
        self.gradient = gradient
        self.groupNormGroups = groupNormGroups
    }

    /// The largest accepted ``width`` (16 times the paper's biggest, 256).
    public static let maxWidth = 4_096
    /// The largest accepted ``steps`` (the paper uses 11).
    public static let maxSteps = 100_000
    /// The largest accepted ``inChannels``.
    public static let maxInChannels = 4_096
    /// The largest accepted ``classes``.
    public static let maxClasses = 100_000

    /// An upper bound on the bytes of the model's weights: the block's and the stem's 3x3
    /// convolutions (at most 6 of width × width), the stem's input convolution and the head.
    public var weightBytesBound: Double {
        let w = Double(width)
        return 4 * (6 * 9 * w * w + 9 * Double(inChannels) * w + w * Double(classes) + 64 * w)
    }

    /// Throws unless every size is positive and within its limit (``maxWidth``, ``maxSteps``,
    /// ``maxInChannels``, ``maxClasses``) and the weights fit in half the memory, σ and test σ
    /// are finite and ≥ 0, the GroupNorm groups divide the width, T is finite and positive, and
    /// the gradient method suits the solver.
    ///
    /// - Throws: ``ModelError/invalidParameter(name:value:expected:)`` naming the setting.
    public func validate() throws(ModelError) {
        for (name, value) in [("in_channels", inChannels), ("classes", classes), ("width", width), ("steps", steps)] where value < 1 {
            throw .invalidParameter(name: name, value: "\(value)", expected: "a positive integer")
        }
        for (name, value, limit) in [("in_channels", inChannels, Self.maxInChannels), ("classes", classes, Self.maxClasses),
                                     ("width", width, Self.maxWidth), ("steps", steps, Self.maxSteps)] where value > limit {
            throw .invalidParameter(name: name, value: "\(value)", expected: "at most \(limit)")
        }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        if weightBytesBound > memory / 2 {
            throw .invalidParameter(name: "width", value: "\(width)",
                                    expected: String(format: "a model whose weights fit in half the memory (%.1f GB of weights, %.1f GB of memory)",
                                                     weightBytesBound / 1e9, memory / 1e9))
        }
        for (name, value) in [("sigma", sigma), ("test_sigma", testSigma)] where !(value.isFinite && value >= 0) {
            throw .invalidParameter(name: name, value: "\(value)", expected: "a finite value ≥ 0")
        }
        if let g = groupNormGroups, !(g >= 1 && g <= width && width % g == 0) {
            throw .invalidParameter(name: "gn_groups", value: "\(g)", expected: "a divisor of the width \(width) (1 ... \(width))")
        }
        guard horizon.isFinite, horizon > 0 else {
            throw .invalidParameter(name: "horizon", value: "\(horizon)", expected: "a finite value > 0")
        }
        if gradient == .reversibleAdjoint && solver != .reversibleHeun {
            throw .invalidParameter(name: "gradient", value: gradient.description,
                                    expected: "the reversible-heun solver for reversible-adjoint (solver is \(solver.rawValue))")
        }
        if gradient.name == "forward-sensitivity" {
            throw .invalidParameter(name: "gradient", value: gradient.description,
                                    expected: "backprop, adjoint, reversible-adjoint or checkpointed:K (forward sensitivity costs one solve per parameter)")
        }
        if gradient.name == "adjoint" && solver == .reversibleHeun {
            throw .invalidParameter(name: "gradient", value: gradient.description,
                                    expected: "reversible-adjoint with the reversible-heun solver")
        }
    }

    /// The smallest image side the architecture takes (its strided convolutions need it).
    public var minimumImageSide: Int { architecture == .paperSmall ? 3 : 4 }

    /// Checks, before any kernel runs, that the model can take `dataset`'s images: a non-empty set,
    /// ``inChannels`` channels, ``classes`` classes, and images of at least ``minimumImageSide``
    /// pixels a side.
    ///
    /// - Parameters:
    ///   - dataset: the images.
    ///   - split: its name in messages (`"test"`, `"training"`).
    /// - Throws: ``ModelError/incompatibleData(reason:)`` naming the mismatch.
    public func checkCompatible(with dataset: InMemoryImageDataset, split: String) throws(ModelError) {
        guard dataset.count > 0 else { throw .incompatibleData(reason: "the \(split) set is empty") }
        guard dataset.imageShape.count == 3 else {
            throw .incompatibleData(reason: "the \(split) images have shape \(dataset.imageShape); the model takes [channels, height, width]")
        }
        guard dataset.imageShape[0] == inChannels else {
            throw .incompatibleData(
                reason: "the \(split) images have \(dataset.imageShape[0]) channels (shape \(dataset.imageShape)), the model expects \(inChannels)")
        }
        guard dataset.classCount == classes else {
            throw .incompatibleData(reason: "the \(split) set has \(dataset.classCount) classes, the model has \(classes) outputs")
        }
        guard dataset.imageShape[1] >= minimumImageSide, dataset.imageShape[2] >= minimumImageSide else {
            throw .incompatibleData(reason: "the \(split) images (\(dataset.imageShape)) are too small for \(architecture.rawValue): "
                                    + "expected at least \(minimumImageSide)x\(minimumImageSide) pixels")
        }
    }

    /// A freshly initialised classifier, its weights drawn from ``Initializer/generator`` (call
    /// `Initializer.manualSeed(_:)` first for reproducible weights).
    public func makeModel(noiseSeed: UInt64 = 0) -> PaperClassifier {
        PaperClassifier(self, noiseSeed: noiseSeed)
    }

    // MARK: - Codable (snake_case keys; enums by their command-line names)

    enum CodingKeys: String, CodingKey {
        case architecture = "model", inChannels = "in_channels", classes, width, noise, sigma
        case testSigma = "test_sigma", steps, horizon, solver, gradient, groupNormGroups = "gn_groups"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decode(Architecture.self, forKey: .architecture)
        inChannels = try c.decode(Int.self, forKey: .inChannels)
        classes = try c.decode(Int.self, forKey: .classes)
        width = try c.decode(Int.self, forKey: .width)
        let noiseName = try c.decode(String.self, forKey: .noise)
        guard let noise = BlockNoise(rawValue: noiseName) else {
            throw DecodingError.dataCorruptedError(forKey: .noise, in: c, debugDescription: "unknown noise '\(noiseName)'")
        }
        self.noise = noise
        sigma = try c.decode(Float.self, forKey: .sigma)
        testSigma = try c.decode(Float.self, forKey: .testSigma)
        steps = try c.decode(Int.self, forKey: .steps)
        horizon = try c.decode(Float.self, forKey: .horizon)
        let solverName = try c.decode(String.self, forKey: .solver)
        guard let solver = SolverKind(rawValue: solverName) else {
            throw DecodingError.dataCorruptedError(forKey: .solver, in: c, debugDescription: "unknown solver '\(solverName)'")
        }
        self.solver = solver
        gradient = try c.decode(GradientMethod.self, forKey: .gradient)
        groupNormGroups = try c.decodeIfPresent(Int.self, forKey: .groupNormGroups)
        // A saved model is checked as a command line is: no model is built from sizes out of range.
        do {
            try validate()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(inChannels, forKey: .inChannels)
        try c.encode(classes, forKey: .classes)
        try c.encode(width, forKey: .width)
        try c.encode(noise.rawValue, forKey: .noise)
        try c.encode(sigma, forKey: .sigma)
        try c.encode(testSigma, forKey: .testSigma)
        try c.encode(steps, forKey: .steps)
        try c.encode(horizon, forKey: .horizon)
        try c.encode(solver.rawValue, forKey: .solver)
        try c.encode(gradient, forKey: .gradient)
        try c.encodeIfPresent(groupNormGroups, forKey: .groupNormGroups)
    }
}

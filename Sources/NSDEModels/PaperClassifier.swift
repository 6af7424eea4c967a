import NSDECore
import NSDENN
import NSDETensor

/// The noise injected by the paper's SDE block: G(h, t) in dh = f dt + G dB.
public enum BlockNoise: String, CaseIterable, Sendable {
    /// G = 0: a Neural ODE.
    case ode
    /// G = σ I.
    case additive
    /// G = σ h.
    case multiplicative
    /// G = σ diag(f(h, t)), with f from the same step.
    case dropout
    /// G = σ tanh(G_v(h, t)), a learned diffusion network (paper eq. 3).
    case learned

    /// The paper's released σ for this noise on CIFAR-10 (the low end of the released ranges:
    /// additive 0.7, multiplicative 1.0–1.8, dropout 0.5–0.9, learned 0.5; ODE 0). The one table
    /// of these defaults: `nsde train` and the experiments' presets read it.
    public var paperDefaultSigma: Float {
        switch self {
        case .ode: return 0
        case .additive: return 0.7
        case .multiplicative: return 1.0
        case .dropout, .learned: return 0.5
        }
    }
}

/// The classifiers of Liu et al. (2019): a convolutional stem, one Neural SDE block solved on
/// [0, T] with ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` (default: the paper's
/// Euler–Maruyama with 11 steps, backpropagation), and a GroupNorm–ReLU–pool–Linear head.
///
/// - `small` (MNIST, Fashion-MNIST, CIFAR-10): stem `Conv(in, 64, 3, pad 0)`, SDE block on 64
///   channels; 115,594 parameters for 3x32x32 input and 10 classes (114,442 for one channel).
/// - `big` (STL-10, Tiny-ImageNet): stem `Conv(3,64,3,1,1)–GN–ReLU–Conv(64,128,4,2,1)–GN–ReLU–
///   Conv(128,256,4,2,1)`, SDE block on 256 channels; 2,440,202 parameters for 10 classes.
///
/// `groupNormGroups` sets G of the GroupNorms on the block's channels (drift, learned diffusion,
/// head; default the paper's min(32, C)); it changes no parameter count.
///
/// Input `[N, C, H, W]` with pixels in [0, 1]; output logits `[N, classes]`. Parameter names
/// follow PyTorch's `state_dict` (`stem.0.weight`, `drift.conv1.weight`, `fc.bias`, …).
///
/// Noise: every noisy forward pass draws a fresh Brownian path, the Philox stream
/// ``noiseCounter`` of key ``noiseSeed`` (then increments the counter), so runs are
/// reproducible and a checkpoint that stores the counter resumes the same noise.
public final class PaperClassifier: Module, Layer {
    public let stem: Sequential
    public let drift: ConvDrift
    /// The learned diffusion network (`learned` noise only).
    public let diffusion: ConvDiffusion?
    public let headNorm: GroupNorm
    public let fc: Linear
    /// What the model was built from. The block's settings (σ, test σ, steps, T, solver,
    /// gradient method) may change after building, through the properties below; the sizes and
    /// the noise type may not.
    public private(set) var configuration: ModelConfiguration
    /// Key of the Brownian paths.
    public var noiseSeed: UInt64
    /// The Philox stream of the next noisy forward pass; incremented by each.
    public var noiseCounter: UInt64

    /// C, the SDE block's channels (the model's width).
    public var channels: Int { configuration.width }
    /// The noise type of the SDE block.
    public var noise: BlockNoise { configuration.noise }
    /// G of the GroupNorms on the block's C channels (drift, learned diffusion, head).
    public var groupNormGroups: Int { configuration.effectiveGroupNormGroups }
    /// σ used in training mode.
    public var sigma: Float {
        get { configuration.sigma } set { configuration.sigma = newValue }
    }
    /// σ used in evaluation mode (the paper keeps noise on at test time; 0 means "w/o TTN").
    public var testSigma: Float {
        get { configuration.testSigma } set { configuration.testSigma = newValue }
    }
    /// Number of solver steps on [0, T] (paper: 11).
    public var steps: Int {
        get { configuration.steps } set { precondition(newValue >= 1, "PaperClassifier: steps must be >= 1"); configuration.steps = newValue }
    }
    /// Integration horizon T (paper: 1).
    public var horizon: Float {
        get { configuration.horizon } set { precondition(newValue > 0, "PaperClassifier: horizon must be > 0"); configuration.horizon = newValue }
    }
    /// The solver (paper: Euler–Maruyama). The block's SDE is read in the solver's calculus.
    public var solver: SolverKind {
        get { configuration.solver } set { configuration.solver = newValue }
    }
    /// How gradients flow through the block (default backprop).
    public var gradient: GradientMethod {
        get { configuration.gradient } set { configuration.gradient = newValue }
    }

    /// A freshly initialised classifier described by `configuration`, its weights drawn from
    /// ``Initializer/generator`` (call `Initializer.manualSeed(_:)` first for reproducible
    /// weights); `noiseSeed` keys its Brownian paths. Use ``ModelConfiguration/validate()`` first
    /// to check settings that come from a user: out-of-range sizes are programmer errors here.
    public init(_ configuration: ModelConfiguration, noiseSeed: UInt64 = 0) {
        precondition(configuration.steps >= 1 && configuration.horizon > 0, "PaperClassifier: steps must be >= 1 and horizon > 0")
        let c = configuration.width, groups = configuration.effectiveGroupNormGroups
        precondition(groups >= 1 && c % groups == 0, "PaperClassifier: \(groups) GroupNorm groups do not divide width \(c)")
        switch configuration.architecture {
        case .paperSmall:
            stem = Sequential(Conv2d(configuration.inChannels, c, kernelSize: 3, stride: 1, padding: 0))
        case .paperBig:
            let c1 = max(c / 4, 1), c2 = max(c / 2, 1)
            stem = Sequential(
                Conv2d(configuration.inChannels, c1, kernelSize: 3, stride: 1, padding: 1),
                GroupNorm(groups: min(32, c1), channels: c1), ReLU(),
                Conv2d(c1, c2, kernelSize: 4, stride: 2, padding: 1),
                GroupNorm(groups: min(32, c2), channels: c2), ReLU(),
                Conv2d(c2, c, kernelSize: 4, stride: 2, padding: 1))
        }
        drift = ConvDrift(channels: c, groups: groups)
        diffusion = configuration.noise == .learned ? ConvDiffusion(channels: c, groups: groups) : nil
        headNorm = GroupNorm(groups: groups, channels: c)
        fc = Linear(c, configuration.classes)
        self.configuration = configuration
        self.noiseSeed = noiseSeed
        self.noiseCounter = 0
        super.init()
    }

    /// ``init(_:noiseSeed:)`` with the configuration's settings spelled out (see
    /// ``ModelConfiguration``; `width` defaults to the architecture's, `testSigma` to `sigma`).
    public convenience init(architecture: ModelConfiguration.Architecture = .paperSmall, inChannels: Int = 3, classes: Int = 10,
                            width: Int? = nil, noise: BlockNoise = .ode, sigma: Float = 0, testSigma: Float? = nil,
                            steps: Int = 11, horizon: Float = 1, solver: SolverKind = .eulerMaruyama,
                            gradient: GradientMethod = .backprop, noiseSeed: UInt64 = 0, groupNormGroups: Int? = nil) {
        self.init(ModelConfiguration(architecture: architecture, inChannels: inChannels, classes: classes, width: width,
                                     noise: noise, sigma: sigma, testSigma: testSigma, steps: steps, horizon: horizon,
                                     solver: solver, gradient: gradient, groupNormGroups: groupNormGroups),
                  noiseSeed: noiseSeed)
    }

    /// The paper's GroupNorm groups for `channels` feature maps: min(32, C). At the paper's width
    /// 64 each group holds 2 channels; at width 16 it is 16 groups of 1 channel (InstanceNorm),
    /// which is why narrow models may set `groupNormGroups` (e.g. 8 for width 16).
    public static func defaultGroupNormGroups(channels: Int) -> Int { min(32, channels) }

    /// σ in the current mode.
    public var activeSigma: Float { isTraining ? sigma : testSigma }

    /// The floating-point operations of one image's forward pass, counted as direct convolutions
    /// (`2 · O · C · kh · kw · Ho · Wo` per convolution, `2 · C · classes` for the head), split into
    /// the stem, the SDE block (``steps`` drift evaluations of Euler–Maruyama, plus as many of the
    /// learned diffusion) and the head. Normalisations, activations and noise are not counted.
    /// Each backward pass of a convolution (data, weights) costs as much again.
    ///
    /// - Parameters:
    ///   - height: input image height in pixels.
    ///   - width: input image width in pixels.
    public func forwardFlops(height: Int, width: Int) -> (stem: Double, block: Double, head: Double) {
        var h = height, w = width, stemFlops = 0.0
        for case let conv as Conv2d in stem.layers {
            let g = Conv2DGeometry(inputShape: [1, conv.weight.shape[1], h, w], weightShape: conv.weight.shape,
                                   stride: conv.stride, padding: conv.padding)
            stemFlops += g.flops
            (h, w) = (g.outputHeight, g.outputWidth)
        }
        func concatConvFlops(_ layer: ConcatConv2d) -> Double {
            Conv2DGeometry(inputShape: [1, layer.conv.weight.shape[1], h, w], weightShape: layer.conv.weight.shape,
                           stride: layer.conv.stride, padding: layer.conv.padding).flops
        }
        var perEvaluation = [drift.conv1, drift.conv2, drift.conv3].map(concatConvFlops).reduce(0, +)
        if let diffusion { perEvaluation += concatConvFlops(diffusion.conv) }
        let head = 2 * Double(fc.weight.shape[0] * fc.weight.shape[1])
        return (stemFlops, Double(steps) * perEvaluation, head)
    }

    /// The direct-convolution FLOPs of one training step on one image (forward, then the backward
    /// passes: data and weights for every layer after the stem, weights only for the stem, whose
    /// input needs no gradient). See ``forwardFlops(height:width:)``.
    public func trainingStepFlops(height: Int, width: Int) -> Double {
        let f = forwardFlops(height: height, width: width)
        return 2 * f.stem + 3 * (f.block + f.head)
    }

    /// The hidden state after the stem (the SDE's initial value h₀).
    public func embed(_ x: Tensor) -> Tensor { stem(x) }

    /// The block's SDE with the current mode's σ.
    public var blockSDE: PaperBlockSDE {
        let calculus = solver.solver.calculus
        return PaperBlockSDE(drift: drift, diffusion: diffusion, kind: noise, sigma: activeSigma, calculus: calculus)
    }

    /// Solves the SDE block from h₀ (`[N, C, H, W]`) over [0, T] with ``steps`` steps of the
    /// ``solver``. Returns every state h₀…h_N (`recordStates`, for the paper's Figure 4) or only
    /// [h_N]. Each noisy call uses the next Brownian stream (the counter advances also when the
    /// solve fails).
    ///
    /// - Throws: the solver's error, e.g. `SDEError.nonFiniteState` when the state blows up, or an
    ///   unsupported solver/gradient combination.
    public func solveBlock(_ h0: Tensor, recordStates: Bool = false) throws -> [Tensor] {
        try solveBlock(h0, recordStates: recordStates, noiseStream: reserveNoiseStream())
    }

    /// The Brownian stream the next noisy pass uses, advancing ``noiseCounter`` when a pass in
    /// the current mode draws noise. Reserve one stream per batch and pass it to every
    /// ``BatchParallel`` shard's ``forward(_:noiseStream:)``: each sample then gets the noise
    /// it gets in an unsplit ``forward(_:)``.
    public func reserveNoiseStream() -> UInt64 {
        let stream = noiseCounter
        if blockSDE.hasNoise { noiseCounter &+= 1 }
        return stream
    }

    /// ``solveBlock(_:recordStates:)`` on Brownian stream `noiseStream`, leaving ``noiseCounter``
    /// as it is.
    public func solveBlock(_ h0: Tensor, recordStates: Bool = false, noiseStream stream: UInt64) throws -> [Tensor] {
        if !recordStates, let blocked = blockedSDE(stateShape: h0.shape) {
            // The state stays in nChw16c through the solve: converted once each way.
            return [try solveBlocked(blocked, h0.blockedNChw16c(), noiseStream: stream).unblockedNChw16c()]
        }
        let dt = Double(horizon) / Double(steps)
        let times = recordStates ? (0...steps).map { Double($0) * dt } : [0, Double(horizon)]
        let solution = try sdeint(blockSDE, y0: h0, times: times, solver: solver, dt: dt,
                                  brownian: .grid(seed: noiseSeed, stream: stream), gradient: gradient)
        return recordStates ? (0..<times.count).map { solution.state(at: $0) } : [solution.final]
    }

    /// Whether the block's solve can keep its state in `nChw16c` for some shapes: Euler–Maruyama
    /// with backpropagation and a parameter-free noise (the shape decides the rest, in
    /// ``blockedSDE(stateShape:)``).
    private var blockedSolveApplies: Bool { solver == .eulerMaruyama && gradient == .backprop && noise != .learned }

    /// The block's SDE with its state in `nChw16c` (``BlockedPaperBlockSDE``) for states of NCHW
    /// shape `stateShape`, where it applies (``blockedSolveApplies``, and convolutions that keep the
    /// layout for the shape on this processor).
    func blockedSDE(stateShape: [Int]) -> BlockedPaperBlockSDE? {
        guard blockedSolveApplies else { return nil }
        return BlockedPaperBlockSDE(drift: drift, kind: noise, sigma: activeSigma, shape: stateShape)
    }

    /// The final state of the blocked SDE from `h0` (in `nChw16c`), in `nChw16c`.
    private func solveBlocked(_ sde: BlockedPaperBlockSDE, _ h0: Tensor, noiseStream stream: UInt64) throws -> Tensor {
        try sdeint(sde, y0: h0, times: [0, Double(horizon)], solver: .eulerMaruyama, dt: Double(horizon) / Double(steps),
                   brownian: .grid(seed: noiseSeed, stream: stream), gradient: .backprop).final
    }

    /// Logits `[N, classes]` for images `[N, C, H, W]`: stem, SDE block, head.
    ///
    /// - Throws: the SDE block's error (see ``solveBlock(_:recordStates:)``).
    public func forward(_ x: Tensor) throws -> Tensor {
        try forward(x, noiseStream: reserveNoiseStream())
    }

    /// ``forward(_:)`` on Brownian stream `noiseStream` (see ``reserveNoiseStream()``), leaving
    /// ``noiseCounter`` as it is.
    public func forward(_ x: Tensor, noiseStream: UInt64) throws -> Tensor {
        guard blockedSolveApplies, let last = stem.layers.last as? Conv2d else {
            return head(try solveBlock(embed(x), noiseStream: noiseStream).last!)
        }
        // Where the solve keeps its state in nChw16c, the stem's last convolution writes it so.
        let features = stem.layers.dropLast().reduce(x) { $1($0) }
        let stateShape = Conv2DGeometry(inputShape: features.shape, weightShape: last.weight.shape, stride: last.stride,
                                        padding: last.padding).outputShape
        guard let sde = blockedSDE(stateShape: stateShape) else {
            return head(try solveBlock(last(features), noiseStream: noiseStream).last!)
        }
        let h0 = Tensor.supportsConv2dToNChw16c(inputShape: features.shape, weightShape: last.weight.shape,
                                                stride: last.stride, padding: last.padding)
            ? features.conv2dToNChw16c(weight: last.weight.value, bias: last.bias?.value, stride: last.stride,
                                       padding: last.padding)
            : last(features).blockedNChw16c()
        return blockedHead(try solveBlocked(sde, h0, noiseStream: noiseStream), stateShape: stateShape)
    }

    /// The classifier head on the final state: GN → ReLU → global average pool → Linear.
    public func head(_ h: Tensor) -> Tensor { fc(headNorm.withReLU(h).globalAvgPool()) }

    /// ``head(_:)`` on a final state in `nChw16c` (of NCHW shape `stateShape`): the GroupNorm, its
    /// ReLU and the pooling read the blocked state (the same values to rounding).
    func blockedHead(_ h: Tensor, stateShape shape: [Int]) -> Tensor {
        let (n, c, pixels) = (shape[0], shape[1], shape[2] * shape[3])
        let a = h.groupNormReLU(blockedInputShape: shape, groups: headNorm.groups, gamma: headNorm.weight.value,
                                beta: headNorm.bias.value, eps: headNorm.eps)
        return fc(a.reshaped([n, c / 16, pixels, 16]).mean(axis: 2).reshaped([n, c]))
    }

    /// Logits `[N, classes]` for images `[N, C, H, W]`; traps if the SDE block fails (use
    /// ``forward(_:)`` to handle a blow-up as an error).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        do {
            return try forward(x)
        } catch {
            preconditionFailure("PaperClassifier: the SDE block failed: \(error)")
        }
    }
}

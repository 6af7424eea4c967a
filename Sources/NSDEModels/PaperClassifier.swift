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
}

/// The classifiers of Liu et al. (2019): a convolutional stem, one Neural SDE block solved by
/// fixed-step Euler–Maruyama on [0, T], and a GroupNorm–ReLU–pool–Linear head.
///
/// - `small` (MNIST, Fashion-MNIST, CIFAR-10): stem `Conv(in, 64, 3, pad 0)`, SDE block on 64
///   channels; 115,594 parameters for 3x32x32 input and 10 classes (114,442 for one channel).
/// - `big` (STL-10, Tiny-ImageNet): stem `Conv(3,64,3,1,1)–GN–ReLU–Conv(64,128,4,2,1)–GN–ReLU–
///   Conv(128,256,4,2,1)`, SDE block on 256 channels; 2,440,202 parameters for 10 classes.
///
/// Input `[N, C, H, W]` with pixels in [0, 1]; output logits `[N, classes]`.
public final class PaperClassifier: Module, Layer {
    /// Which of the paper's two architectures.
    public enum Size: String, Sendable { case small, big }

    public let stem: Sequential
    public let drift: ConvDrift
    public let headNorm: GroupNorm
    public let fc: Linear
    /// The noise type of the SDE block.
    public var noise: BlockNoise
    /// σ used in training mode.
    public var sigma: Float
    /// σ used in evaluation mode (the paper keeps noise on at test time; 0 means "w/o TTN").
    public var testSigma: Float
    /// Number of Euler–Maruyama steps on [0, T] (paper: 11).
    public var steps: Int
    /// Integration horizon T (paper: 1).
    public var horizon: Float
    /// Source of the Brownian increments; advanced by every noisy forward pass.
    public var noiseGenerator: PhiloxGenerator

    public init(size: Size = .small, inChannels: Int = 3, classes: Int = 10, width: Int? = nil,
                noise: BlockNoise = .ode, sigma: Float = 0, testSigma: Float? = nil,
                steps: Int = 11, horizon: Float = 1, noiseSeed: UInt64 = 0) {
        precondition(steps >= 1 && horizon > 0, "PaperClassifier: steps must be >= 1 and horizon > 0")
        switch size {
        case .small:
            let c = width ?? 64
            stem = Sequential(Conv2d(inChannels, c, kernelSize: 3, stride: 1, padding: 0))
            drift = ConvDrift(channels: c)
            headNorm = GroupNorm(groups: min(32, c), channels: c)
            fc = Linear(c, classes)
        case .big:
            let c = width ?? 256
            let c1 = max(c / 4, 1), c2 = max(c / 2, 1)
            stem = Sequential(
                Conv2d(inChannels, c1, kernelSize: 3, stride: 1, padding: 1),
                GroupNorm(groups: min(32, c1), channels: c1), ReLU(),
                Conv2d(c1, c2, kernelSize: 4, stride: 2, padding: 1),
                GroupNorm(groups: min(32, c2), channels: c2), ReLU(),
                Conv2d(c2, c, kernelSize: 4, stride: 2, padding: 1))
            drift = ConvDrift(channels: c)
            headNorm = GroupNorm(groups: min(32, c), channels: c)
            fc = Linear(c, classes)
        }
        self.noise = noise
        self.sigma = sigma
        self.testSigma = testSigma ?? sigma
        self.steps = steps
        self.horizon = horizon
        self.noiseGenerator = PhiloxGenerator(seed: noiseSeed, stream: 0x5DE)
        super.init()
    }

    /// σ in the current mode.
    public var activeSigma: Float { isTraining ? sigma : testSigma }

    /// The hidden state after the stem (the SDE's initial value h₀).
    public func embed(_ x: Tensor) -> Tensor { stem(x) }

    /// Solves the SDE block from h₀ with Euler–Maruyama:
    /// h ← h + f(h, t)·Δt + G(h, t)·ΔW, ΔW ~ N(0, Δt) independently per element and step.
    /// Returns every state h₀…h_N when `recordStates` is true, else only h_N.
    public func solveBlock(_ h0: Tensor, recordStates: Bool = false) -> [Tensor] {
        let dt = horizon / Float(steps)
        let s = activeSigma
        var h = h0
        var states = recordStates ? [h0] : []
        for k in 0..<steps {
            let t = Float(k) * dt
            let f = drift(t, h)
            if noise == .ode || s == 0 {
                h = h + f * dt
            } else {
                // ΔW = √Δt · z with z ~ N(0, 1), one independent draw per element and step.
                switch noise {
                case .ode: break
                case .additive:
                    h = h + f * dt + noiseGenerator.normal(h.shape, std: s * dt.squareRoot())
                case .multiplicative:
                    // h + f Δt + σ h ΔW = h ⊙ (1 + σ ΔW) + f Δt
                    let scale = noiseGenerator.normal(h.shape, mean: 1, std: s * dt.squareRoot())
                    h = h * scale + f * dt
                case .dropout:
                    // h + f Δt + σ f ΔW = h + f ⊙ (Δt + σ ΔW), with (Δt + σ ΔW) drawn directly.
                    h = h.addingProduct(f, noiseGenerator.normal(h.shape, mean: dt, std: s * dt.squareRoot()))
                }
            }
            if recordStates { states.append(h) }
        }
        return recordStates ? states : [h]
    }

    /// The classifier head on the final state: GN → ReLU → global average pool → Linear.
    public func head(_ h: Tensor) -> Tensor { fc(headNorm.withReLU(h).globalAvgPool()) }

    /// Logits `[N, classes]` for images `[N, C, H, W]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        head(solveBlock(embed(x)).last!)
    }
}

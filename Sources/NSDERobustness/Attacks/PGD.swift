import Foundation
import NSDENN
import NSDETensor
import NSDETraining

/// Projected gradient descent on the input (Madry et al. 2018), maximising the cross-entropy of
/// the true class inside the ball ‖x_adv − x‖ ≤ ε, optionally with expectation over the model's
/// noise (EOT, Athalye et al. 2018).
///
/// Each of ``steps`` iterations:
/// 1. g = (1/K) Σₖ ∇ₓ CEₖ(x + δ), the input gradient of the summed cross-entropy averaged over
///    K = ``eotSamples`` forward/backward passes, each on its own Brownian path (when the model
///    draws no noise at its test σ, one pass serves for all K);
/// 2. δ moves by the ``update`` rule (``PGDUpdateRule/adam(learningRate:)``: the authors' Adam on
///    δ; ``PGDUpdateRule/madry(stepSize:randomStart:)``: normalised or signed gradient steps);
/// 3. δ is projected onto the ε-ball of ``norm``, then x + δ is clamped to [0, 1] (which never
///    increases ‖δ‖).
///
/// The passes run in evaluation mode at the model's test σ, on the Brownian streams 0, 1, 2, … of
/// key ``seed`` (K per step), so the result is a pure function of (weights, images, settings,
/// seed). The model's mode, test σ, noise seed, noise counter and parameter gradients are restored
/// afterwards. ε = 0 (or 0 steps without a random start) returns the clean images.
///
/// ```swift
/// let attack = PGD(norm: .l2, epsilon: 0.5, steps: 40, update: .paper, eotSamples: 10, seed: 1)
/// let adversarial = try attack.perturb(images, labels: labels, model: model)
/// ```
///
/// - Complexity: `steps · K` forward and backward passes (K = 1 for a noise-free model).
///
/// References: Madry et al. (2018), "Towards Deep Learning Models Resistant to Adversarial
/// Attacks"; Athalye, Carlini & Wagner (2018), "Obfuscated Gradients Give a False Sense of
/// Security"; Liu et al. (2019), "Neural SDE", Figure 3.
public struct PGD: Attack, Equatable {
    /// The threat model's norm.
    public var norm: AttackNorm
    /// The radius ε of the ball, in pixel units (≥ 0).
    public var epsilon: Float
    /// Gradient iterations (≥ 0; the paper's 40).
    public var steps: Int
    /// How δ moves each step.
    public var update: PGDUpdateRule
    /// K, noisy passes averaged per input gradient (≥ 1; 1 = no EOT).
    public var eotSamples: Int
    /// Key of the attack's randomness: the Brownian paths of the gradient passes and the random
    /// start.
    public var seed: UInt64

    /// Creates an attack.
    ///
    /// - Parameters:
    ///   - norm: L2 (default) or L∞.
    ///   - epsilon: ε ≥ 0 in pixel units.
    ///   - steps: iterations (default the paper's 40).
    ///   - update: Adam with learning rate 0.005 (default, the paper's) or Madry steps.
    ///   - eotSamples: K ≥ 1 (default 1).
    ///   - seed: key of the randomness (default 0).
    public init(norm: AttackNorm = .l2, epsilon: Float, steps: Int = 40, update: PGDUpdateRule = .paper,
                eotSamples: Int = 1, seed: UInt64 = 0) {
        self.norm = norm
        self.epsilon = epsilon
        self.steps = steps
        self.update = update
        self.eotSamples = eotSamples
        self.seed = seed
    }

    /// Checks the settings.
    ///
    /// - Throws: ``RobustnessError/invalidParameter(name:value:expected:)`` naming the first bad one.
    public func validate() throws {
        guard epsilon.isFinite, epsilon >= 0 else {
            throw RobustnessError.invalidParameter(name: "epsilon", value: "\(epsilon)", expected: "a finite value ≥ 0")
        }
        guard steps >= 0 else {
            throw RobustnessError.invalidParameter(name: "steps", value: "\(steps)", expected: "an integer ≥ 0")
        }
        guard eotSamples >= 1 else {
            throw RobustnessError.invalidParameter(name: "eotSamples", value: "\(eotSamples)", expected: "an integer ≥ 1")
        }
        switch update {
        case .adam(let rate):
            guard rate.isFinite, rate > 0 else {
                throw RobustnessError.invalidParameter(name: "learningRate", value: "\(rate)", expected: "a finite value > 0")
            }
        case .madry(let step, _):
            if let step, !(step.isFinite && step > 0) {
                throw RobustnessError.invalidParameter(name: "stepSize", value: "\(step)", expected: "a finite value > 0")
            }
        }
    }

    /// The Madry step size α: the given one, else 2.5·ε / steps.
    var madryStepSize: Float {
        if case .madry(let step?, _) = update { return step }
        return 2.5 * epsilon / Float(Swift.max(steps, 1))
    }

    /// Adversarial versions of `images` (see the type's description).
    ///
    /// - Parameters:
    ///   - images: `[batch, channels, height, width]`, pixels in [0, 1].
    ///   - labels: `batch` class indices.
    ///   - model: the attacked classifier (state restored afterwards).
    /// - Returns: `[batch, channels, height, width]` with ‖x_adv − x‖ ≤ ε per image and pixels in [0, 1].
    /// - Throws: ``RobustnessError/invalidParameter(name:value:expected:)`` for bad settings, a
    ///   non-image tensor or a label count that differs from the batch; the model's errors.
    public func perturb<Model: StochasticClassifier>(_ images: Tensor, labels: [Int], model: Model) throws -> Tensor {
        try validate()
        guard images.rank == 4, labels.count == images.shape[0] else {
            throw RobustnessError.invalidParameter(name: "images", value: "shape \(images.shape) with \(labels.count) labels",
                                                   expected: "[batch, channels, height, width] with one label per image")
        }
        let batch = images.shape[0], size = images.count / Swift.max(batch, 1)
        var randomStart = false
        if case .madry(_, let r) = update { randomStart = r }
        guard epsilon > 0, batch > 0, steps > 0 || randomStart else { return images.copy() }

        let saved = ModelNoiseState(model)
        defer { saved.restore(model) }
        model.eval()
        model.noiseSeed = seed
        model.noiseCounter = 0

        let x = images.scalars
        var delta = randomStart ? initialPerturbation(batch: batch, size: size) : [Float](repeating: 0, count: x.count)
        var adversarial = x
        projectAndClamp(&delta, &adversarial, x: x, batch: batch, size: size)
        let samples = model.injectsNoise(testSigma: model.testSigma) ? eotSamples : 1
        var adam = AdamState(count: x.count)
        for _ in 0..<steps {
            let g = try inputGradient(Tensor(shape: images.shape, scalars: adversarial), labels: labels,
                                      model: model, samples: samples)
            switch update {
            case .adam(let rate):
                adam.ascend(&delta, gradient: g, learningRate: rate)
            case .madry:
                let alpha = madryStepSize
                for b in 0..<batch {
                    let range = b * size..<(b + 1) * size
                    for (i, d) in zip(range, norm.ascentDirection(g, range)) { delta[i] += alpha * d }
                }
            }
            projectAndClamp(&delta, &adversarial, x: x, batch: batch, size: size)
        }
        return Tensor(shape: images.shape, scalars: adversarial)
    }

    // MARK: - Steps

    /// Projects each image's δ onto the ε-ball, clamps x + δ to [0, 1] into `adversarial`, and
    /// sets δ = x_adv − x.
    private func projectAndClamp(_ delta: inout [Float], _ adversarial: inout [Float], x: [Float], batch: Int, size: Int) {
        for b in 0..<batch { norm.project(&delta, b * size..<(b + 1) * size, epsilon: epsilon) }
        for i in 0..<x.count {
            adversarial[i] = Swift.min(Swift.max(x[i] + delta[i], 0), 1)
            delta[i] = adversarial[i] - x[i]
        }
    }

    /// δ uniform in the ε-ball, from Philox streams of a key derived from ``seed``.
    private func initialPerturbation(batch: Int, size: Int) -> [Float] {
        let key = seed ^ 0x5EED_A77A_C4ED_0001
        switch norm {
        case .linf:
            return Tensor.randomUniform([batch * size], low: -epsilon, high: epsilon, seed: key).scalars
        case .l2:
            let directions = Tensor.randomNormal([batch * size], seed: key, stream: 1).scalars
            let radii = Tensor.randomUniform([batch], seed: key, stream: 2).scalars
            var delta = [Float](repeating: 0, count: batch * size)
            for b in 0..<batch {
                let range = b * size..<(b + 1) * size
                let n = norm.norm(of: directions[range])
                let radius = Double(epsilon) * Foundation.pow(Double(radii[b]), 1 / Double(size))
                guard n > 0 else { continue }
                for i in range { delta[i] = Float(Double(directions[i]) / n * radius) }
            }
            return delta
        }
    }

    /// ∇ₓ Σᵢ CE(model(x)ᵢ, labelᵢ), averaged over `samples` passes (each advancing the noise
    /// counter when the pass is noisy). Parameter gradients are left as they were.
    private func inputGradient<Model: StochasticClassifier>(_ input: Tensor, labels: [Int], model: Model,
                                                            samples: Int) throws -> [Float] {
        let parameters = model.parameters
        let savedGradients = parameters.map(\.grad)
        defer { for (p, g) in zip(parameters, savedGradients) { p.value.grad = g } }
        var sum = [Float](repeating: 0, count: input.count)
        let batch = input.shape[0]
        for _ in 0..<samples {
            // The images split into one shard per thread on one noise stream (each image's input
            // gradient depends on that image alone, and gets the noise of the unsplit batch).
            let stream = model.reserveNoiseStream()
            let parts = try BatchParallel.run(batch: batch) { shard -> Tensor in
                try enableGrad {
                    let rows = shard.rows.range
                    var leaf = shard.slice(input).detached()
                    leaf.requiresGrad = true
                    let logProbabilities = try model.logits(leaf, noiseStream: stream).logSoftmax().gather(Array(labels[rows]))
                    (-logProbabilities.sum()).backward()
                    return leaf.grad ?? Tensor(repeating: 0, shape: leaf.shape)
                }
            }
            let g = parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
            g.withUnsafeBufferPointer { for i in 0..<sum.count { sum[i] += $0[i] } }
        }
        if samples > 1 {
            let scale = 1 / Float(samples)
            for i in 0..<sum.count { sum[i] *= scale }
        }
        return sum
    }
}

/// Adam (Kingma & Ba 2015) on the perturbation, as PyTorch's `torch.optim.Adam` minimising the
/// loss −CE: δ ← δ + lr · m̂ / (√v̂ + 10⁻⁸), with m, v the moving averages of g and g² of the CE
/// gradient g (β₁ = 0.9, β₂ = 0.999) and bias corrections m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ).
struct AdamState {
    var m: [Float], v: [Float], t = 0
    let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8

    init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = m
    }

    /// One ascent step of `delta` along the CE gradient `gradient`.
    mutating func ascend(_ delta: inout [Float], gradient: [Float], learningRate: Float) {
        t += 1
        let c1 = 1 - Foundation.pow(beta1, Float(t)), c2 = 1 - Foundation.pow(beta2, Float(t))
        for i in 0..<delta.count {
            m[i] = beta1 * m[i] + (1 - beta1) * gradient[i]
            v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i]
            delta[i] += learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
        }
    }
}

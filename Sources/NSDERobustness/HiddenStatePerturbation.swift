import Foundation
import NSDEModels
import NSDEPlot
import NSDETensor

/// How far an adversarial input moves the hidden state of a ``PaperClassifier``'s SDE block along
/// depth t (the paper's Figure 4).
///
/// For clean images x and their adversaries x_adv, the block is solved from h₀ = stem(x) on the
/// grid tⱼ = j·T/``gridSteps`` (default 50 steps: t = 0, 0.02, …, 1, 51 states), M = ``draws``
/// times at the model's test σ (M = 1 when the block draws no noise), and
///
///   r(t) = ‖E h_t(x_adv) − E h_t(x)‖₂ / ‖E h_t(x)‖₂   (per image, over all C·H·W elements),
///
/// with E the mean over the M draws. The result gives r(t) averaged over the images and its
/// standard deviation over images. The clean and adversarial solves of draw m share Brownian
/// stream m of key ``seed`` (common random numbers), so the noise cancels in the difference as far
/// as it can. The model's mode, test σ, noise seed, noise counter and ``PaperClassifier/steps``
/// are restored afterwards.
///
/// - Complexity: 2·M block solves of ``gridSteps`` steps per image; memory for
///   2·(gridSteps + 1)·``batchSize`` hidden states.
///
/// References: Liu et al. (2019), "Neural SDE", Figure 4.
public struct HiddenStatePerturbation: Sendable {
    /// M, noise draws averaged per image (≥ 1; the paper: "many"); forced to 1 without noise.
    public var draws: Int
    /// Solver steps on [0, T] for the analysis (≥ 1; default 50, Δt = 0.02 for T = 1).
    public var gridSteps: Int
    /// Images solved together (bounds the memory of the recorded states).
    public var batchSize: Int
    /// Key of the Brownian paths.
    public var seed: UInt64

    /// Creates the settings.
    ///
    /// - Parameters:
    ///   - draws: M ≥ 1 (default 20).
    ///   - gridSteps: ≥ 1 (default 50).
    ///   - batchSize: > 0 (default 8).
    ///   - seed: default 0.
    public init(draws: Int = 20, gridSteps: Int = 50, batchSize: Int = 8, seed: UInt64 = 0) {
        self.draws = draws
        self.gridSteps = gridSteps
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Measures r(t) for `clean` and `adversarial` images (see the type's description).
    ///
    /// - Parameters:
    ///   - model: the classifier (state restored afterwards).
    ///   - clean: x `[batch, channels, height, width]`, pixels in [0, 1].
    ///   - adversarial: x_adv, the same shape.
    /// - Returns: r(t) on the grid, mean and standard deviation over the images.
    /// - Throws: ``RobustnessError/invalidParameter(name:value:expected:)`` for bad settings or
    ///   shapes that differ.
    public func measure(_ model: PaperClassifier, clean: Tensor, adversarial: Tensor) throws -> HiddenStatePerturbationResult {
        guard draws >= 1 else { throw RobustnessError.invalidParameter(name: "draws", value: "\(draws)", expected: "an integer ≥ 1") }
        guard gridSteps >= 1 else {
            throw RobustnessError.invalidParameter(name: "gridSteps", value: "\(gridSteps)", expected: "an integer ≥ 1")
        }
        guard batchSize > 0 else {
            throw RobustnessError.invalidParameter(name: "batchSize", value: "\(batchSize)", expected: "a positive integer")
        }
        guard clean.rank == 4, clean.shape == adversarial.shape, clean.shape[0] > 0 else {
            throw RobustnessError.invalidParameter(name: "adversarial", value: "shapes \(clean.shape) and \(adversarial.shape)",
                                                   expected: "two equal non-empty [batch, channels, height, width] shapes")
        }
        let saved = ModelNoiseState(model), savedSteps = model.steps
        defer { saved.restore(model); model.steps = savedSteps }
        model.eval()
        model.steps = gridSteps
        model.noiseSeed = seed
        let m = model.injectsNoise(testSigma: model.testSigma) ? draws : 1
        let n = clean.shape[0], per = clean.count / n
        let x = clean.scalars, xAdv = adversarial.scalars
        var relative = [[Double]](repeating: [], count: gridSteps + 1)   // [t][image]
        for (chunk, start) in stride(from: 0, to: n, by: batchSize).enumerated() {
            let count = Swift.min(batchSize, n - start)
            let shape = [count] + Array(clean.shape.dropFirst())
            let range = start * per..<(start + count) * per
            let base = UInt64(chunk * m)
            let meanClean = try meanStates(model, Tensor(shape: shape, scalars: Array(x[range])), draws: m, firstStream: base)
            let meanAdv = try meanStates(model, Tensor(shape: shape, scalars: Array(xAdv[range])), draws: m, firstStream: base)
            for t in 0...gridSteps {
                let size = meanClean[t].count / count
                for i in 0..<count {
                    var difference = 0.0, reference = 0.0
                    for j in i * size..<(i + 1) * size {
                        let c = Double(meanClean[t][j]), d = Double(meanAdv[t][j]) - c
                        difference += d * d
                        reference += c * c
                    }
                    relative[t].append(difference.squareRoot() / reference.squareRoot())
                }
            }
        }
        let statistics = relative.map(SampleStatistics.init)
        let horizon = Double(model.horizon)
        return HiddenStatePerturbationResult(times: (0...gridSteps).map { Double($0) * horizon / Double(gridSteps) },
                                             meanRelativeDistance: statistics.map(\.mean),
                                             stdRelativeDistance: statistics.map { $0.variance.squareRoot() },
                                             images: n, draws: m, testSigma: model.testSigma, seed: seed)
    }

    /// The mean over `draws` solves (Brownian streams `firstStream`, `firstStream + 1`, …) of every
    /// recorded state: `gridSteps + 1` arrays of `batch · C · H · W` values.
    private func meanStates(_ model: PaperClassifier, _ images: Tensor, draws: Int, firstStream: UInt64) throws -> [[Float]] {
        try noGrad {
            let h0 = model.embed(images)
            var sums = [[Float]]()
            for draw in 0..<draws {
                model.noiseCounter = firstStream &+ UInt64(draw)
                let states = try model.solveBlock(h0, recordStates: true)
                if sums.isEmpty {
                    sums = states.map(\.scalars)
                } else {
                    for (t, state) in states.enumerated() {
                        state.withUnsafeBufferPointer { for j in 0..<sums[t].count { sums[t][j] += $0[j] } }
                    }
                }
            }
            guard draws > 1 else { return sums }
            let scale = 1 / Float(draws)
            return sums.map { $0.map { $0 * scale } }
        }
    }
}

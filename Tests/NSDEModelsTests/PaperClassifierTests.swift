import NSDECore
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

private extension ModelConfiguration {
    /// What ``validate()`` throws (`nil`: valid).
    var validationError: ModelError? {
        do { try validate(); return nil } catch { return error }
    }
}

final class PaperClassifierTests: XCTestCase {
    func testParameterCountsMatchThePaper() {
        XCTAssertEqual(PaperClassifier(architecture: .paperSmall, inChannels: 3, classes: 10).parameterCount, 115_594)
        XCTAssertEqual(PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10).parameterCount, 114_442)
        XCTAssertEqual(PaperClassifier(architecture: .paperBig, inChannels: 3, classes: 10).parameterCount, 2_440_202)
    }

    /// The classifier is described by one ``ModelConfiguration``: it builds from one, reports it
    /// back, and the block settings that may change after building write through to it.
    func testClassifierHoldsItsConfiguration() throws {
        let configuration = ModelConfiguration(architecture: .paperSmall, inChannels: 1, classes: 3, width: 8, noise: .dropout,
                                               sigma: 0.4, steps: 3, groupNormGroups: 4)
        try configuration.validate()
        let model = PaperClassifier(configuration, noiseSeed: 5)
        XCTAssertEqual(model.configuration, configuration)
        XCTAssertEqual(model.testSigma, 0.4)
        XCTAssertEqual(model.channels, 8)
        XCTAssertEqual(model.groupNormGroups, 4)
        XCTAssertEqual(model.noiseSeed, 5)
        XCTAssertNil(model.diffusion)
        model.testSigma = 0
        model.steps = 5
        XCTAssertEqual(model.configuration.testSigma, 0)
        XCTAssertEqual(model.configuration.steps, 5)
        let spelledOut = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 3, width: 8, noise: .dropout,
                                         sigma: 0.4, steps: 3, groupNormGroups: 4)
        XCTAssertEqual(spelledOut.configuration, configuration)
        XCTAssertEqual(spelledOut.parameterCount, model.parameterCount)
        XCTAssertEqual(ModelConfiguration(width: 6, groupNormGroups: 4).validationError,
                       .invalidParameter(name: "gn_groups", value: "4", expected: "a divisor of the width 6 (1 ... 6)"))
        XCTAssertEqual(ModelError.invalidParameter(name: "width", value: "0", expected: "a positive integer").description,
                       "invalid width: expected a positive integer, got 0")
    }

    /// Direct-convolution FLOPs against hand counts: 2·O·C·9·Ho·Wo per 3x3 convolution.
    func testFlopCountsByHand() {
        // paper-small, 3x32x32: stem 3→64 (valid) to 30x30; 11 steps × 3 ConcatConv 65→64 at 30x30.
        let paper = PaperClassifier(architecture: .paperSmall, inChannels: 3, classes: 10, steps: 11).forwardFlops(height: 32, width: 32)
        XCTAssertEqual(paper.stem, 2 * 64 * 3 * 9 * 900)
        XCTAssertEqual(paper.block, 11 * 3 * (2 * 64 * 65 * 9 * 900))
        XCTAssertEqual(paper.head, 2 * 64 * 10)
        // The demo's model: width 16 on 1x28x28, 4 steps; a training step counts the stem twice
        // (forward, weight gradient) and everything else three times.
        let demo = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 16, steps: 4, groupNormGroups: 8)
        let stem = Double(2 * 16 * 1 * 9 * 676), block = Double(4 * 3 * (2 * 16 * 17 * 9 * 676)), head = Double(2 * 16 * 10)
        XCTAssertEqual(demo.trainingStepFlops(height: 28, width: 28), 2 * stem + 3 * (block + head))
        XCTAssertEqual(demo.channels, 16)
        // The learned diffusion adds one ConcatConv per step.
        let learned = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 16, noise: .learned, sigma: 0.1, steps: 4,
                                      groupNormGroups: 8)
        XCTAssertEqual(learned.forwardFlops(height: 28, width: 28).block, block * 4 / 3)
        // paper-big: three stem convolutions, 3x96x96 → 96x96 → 48x48 → 24x24.
        let big = PaperClassifier(architecture: .paperBig, inChannels: 3, classes: 10, steps: 1).forwardFlops(height: 96, width: 96)
        XCTAssertEqual(big.stem, Double(2 * 64 * 3 * 9 * 96 * 96 + 2 * 128 * 64 * 16 * 48 * 48 + 2 * 256 * 128 * 16 * 24 * 24))
        XCTAssertEqual(big.block, Double(3 * 2 * 256 * 257 * 9 * 24 * 24))
    }

    func testForwardShapesAndNoiseModes() {
        Initializer.manualSeed(0)
        let x = Tensor.randomUniform([2, 1, 12, 12], seed: 3)
        for noise in BlockNoise.allCases {
            let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 8, noise: noise, sigma: 0.5, steps: 3)
            let y = model(x)
            XCTAssertEqual(y.shape, [2, 10])
            XCTAssertTrue(y.isFinite)
            // Evaluation with test sigma 0 is deterministic.
            model.testSigma = 0
            model.eval()
            XCTAssertEqual(model(x).scalars, model(x).scalars)
            if noise != .ode {
                model.train()
                XCTAssertNotEqual(model(x).scalars, model(x).scalars, "\(noise) noise must make passes differ")
            }
        }
    }

    /// The block's noise is reproducible: the same seed and counter give the same logits, the
    /// counter advances once per noisy pass, and a model with no noise draws nothing.
    func testNoiseStreamsAreReproducible() {
        Initializer.manualSeed(1)
        let x = Tensor.randomUniform([2, 1, 10, 10], seed: 4)
        let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, width: 8, noise: .multiplicative, sigma: 0.5, steps: 3, noiseSeed: 9)
        let first = model(x).scalars
        XCTAssertEqual(model.noiseCounter, 1)
        let second = model(x).scalars
        XCTAssertNotEqual(first, second)
        model.noiseCounter = 0
        XCTAssertEqual(model(x).scalars, first)
        let ode = PaperClassifier(architecture: .paperSmall, inChannels: 1, width: 8, noise: .ode, steps: 3)
        _ = ode(x)
        XCTAssertEqual(ode.noiseCounter, 0)
    }

    /// Training through the block with reversible Heun's adjoint or checkpointing gives
    /// backprop's gradients (same noise stream). The stochastic adjoint cannot invert the
    /// GroupNorm drift's steps at this step size and says so in its stats.
    func testMemorySavingGradientsMatchBackprop() {
        let x = Tensor.randomUniform([2, 1, 8, 8], seed: 5)
        let labels = [3, 7]
        func gradients(noise: BlockNoise, solver: SolverKind, gradient: GradientMethod) -> [Float] {
            Initializer.manualSeed(2)
            let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, width: 8, noise: noise, sigma: 0.3, steps: 4,
                                        solver: solver, gradient: gradient)
            crossEntropy(logits: model(x), labels: labels).backward()
            return model.parameters.flatMap { $0.grad?.scalars ?? [Float](repeating: 0, count: $0.value.count) }
        }
        func relativeError(_ a: [Float], _ b: [Float]) -> Float {
            let num = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +), den = b.map { $0 * $0 }.reduce(0, +)
            return (num / den).squareRoot()
        }
        for noise in [BlockNoise.dropout, .learned] {
            let reference = gradients(noise: noise, solver: .eulerMaruyama, gradient: .backprop)
            XCTAssertLessThan(relativeError(gradients(noise: noise, solver: .eulerMaruyama, gradient: .checkpointed(every: 2)), reference), 1e-5)
        }
        let heun = gradients(noise: .multiplicative, solver: .reversibleHeun, gradient: .backprop)
        XCTAssertLessThan(relativeError(gradients(noise: .multiplicative, solver: .reversibleHeun, gradient: .reversibleAdjoint), heun), 1e-4)
        Initializer.manualSeed(2)
        let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, width: 8, noise: .dropout, sigma: 0.3, steps: 4)
        let solution = try! sdeint(model.blockSDE, y0: model.embed(x), times: [0, 1], solver: .eulerMaruyama, dt: 0.25, gradient: .adjoint)
        crossEntropy(logits: model.head(solution.final), labels: labels).backward()
        XCTAssertGreaterThan(solution.backwardStats.unconvergedSteps, 0)
    }

    func testStatesAreRecordedAtEveryStep() throws {
        let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, width: 8, steps: 4)
        let states = try model.solveBlock(model.embed(Tensor.randomUniform([1, 1, 8, 8], seed: 1)), recordStates: true)
        XCTAssertEqual(states.count, 5)
    }

    /// The tiny conv net reaches > 80 % test accuracy after training on 5,000 real
    /// Fashion-MNIST images (a few epochs, about a minute in a release build).
    func testTinyConvNetLearnsFashionMNISTSubset() throws {
        let dir = FashionMNIST.defaultDirectory
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("train-images-idx3-ubyte.gz").path) else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("Fashion-MNIST is missing at \(dir.path): CI must install the Debian package dataset-fashion-mnist")
            }
            throw XCTSkip("Fashion-MNIST not installed at \(dir.path) (apt-get install dataset-fashion-mnist)")
        }
        let train = try FashionMNIST.load(split: .train).subset(5_000, seed: 0)
        let test = try FashionMNIST.load(split: .test).subset(2_000)
        Initializer.manualSeed(0)
        let model = TinyConvNet(inChannels: 1, classes: 10)
        let optimizer = Adam(parameters: model.parameters, learningRate: 3e-3)
        let loader = DataLoader(dataset: train, batchSize: 64, shuffle: true, seed: 0)
        for epoch in 0..<4 {
            _ = ClassifierTraining.trainEpoch(model, loader: loader, epoch: epoch, optimizer: optimizer)
        }
        let result = ClassifierTraining.evaluate(model, on: test)
        XCTAssertGreaterThan(result.accuracy, 0.80, "test accuracy \(result.accuracy)")
    }
}

/// The trainer's step split into batch shards (BatchParallel) against the unsplit step.
final class PaperClassifierShardTests: XCTestCase {
    func testShardedStepMatchesUnsplitStep() throws {
        Initializer.manualSeed(2)
        let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 8, noise: .dropout, sigma: 0.5,
                                    steps: 3, groupNormGroups: 4)
        let x = Tensor.randomUniform([5, 1, 10, 10], seed: 7)
        let labels = [0, 3, 9, 3, 1]
        func step(shards: Int) throws -> (loss: Float, grads: [[Float]], counter: UInt64) {
            model.noiseCounter = 4
            for p in model.parameters { p.zeroGrad() }
            let stream = model.reserveNoiseStream()
            let losses = try BatchParallel.run(batch: 5, shards: shards) { shard -> Float in
                let rows = shard.rows.range
                let logits = try model.forward(shard.slice(x), noiseStream: stream)
                let loss = crossEntropy(logits: logits, labels: Array(labels[rows])) * shard.fraction
                loss.backward()
                return loss.item
            }
            return (losses.reduce(0, +), model.parameters.map { $0.grad!.scalars }, model.noiseCounter)
        }
        let whole = try step(shards: 1), split = try step(shards: 2), again = try step(shards: 2)
        XCTAssertEqual(whole.counter, 5, "one noise stream per batch")
        XCTAssertEqual(split.counter, 5)
        XCTAssertEqual(split.loss, whole.loss, accuracy: 1e-5 * whole.loss)
        for (a, b) in zip(split.grads, whole.grads) {
            let scale = max(b.map(abs).max() ?? 0, 1e-3)
            XCTAssertEqual(a, b, accuracy: 2e-4 * scale)
        }
        XCTAssertEqual(split.grads, again.grads, "bit-identical from run to run")
        // The unsplit forward with the counter equals forward(noiseStream:) on the reserved stream.
        model.noiseCounter = 4
        let viaCounter = try noGrad { try model.forward(x) }.scalars
        let viaStream = try noGrad { try model.forward(x, noiseStream: 4) }.scalars
        XCTAssertEqual(viaCounter, viaStream)
    }
}

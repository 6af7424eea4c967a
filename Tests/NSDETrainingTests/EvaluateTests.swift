import Foundation
import NSDECore
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDEPlot
@testable import NSDETraining

/// `evaluate(_:on:testSigma:ttnSamples:batchSize:seed:)`, the classification metrics and the
/// throwing forward pass it uses.
final class EvaluateTests: XCTestCase {
    static let data = SyntheticImages.dataset(count: 24, size: 8, seed: 5)

    func model(noise: BlockNoise, sigma: Float = 0.4) -> PaperClassifier {
        Initializer.manualSeed(11)
        return ModelConfiguration(inChannels: 1, classes: 2, width: 4, noise: noise, sigma: sigma, steps: 2).makeModel(noiseSeed: 3)
    }

    /// The throwing forward pass is `callAsFunction` bit for bit, noise counter included.
    func testLogitsMatchCallAsFunctionBitForBit() throws {
        let x = Self.data.batch(indices: Array(0..<6)).images
        for noise in BlockNoise.allCases {
            let a = model(noise: noise), b = model(noise: noise)
            for mode in [true, false] {
                if mode { a.train(); b.train() } else { a.eval(); b.eval() }
                let expected = a(x).scalars.map(\.bitPattern)
                XCTAssertEqual(try b.logits(x).scalars.map(\.bitPattern), expected, "\(noise), training \(mode)")
                XCTAssertEqual(a.noiseCounter, b.noiseCounter, "\(noise)")
            }
        }
    }

    /// TTN at σ = 0 is the plain forward pass: the same predictions, the same NLL, equal to
    /// argmax of `model(x)` in evaluation mode with test σ = 0.
    func testTTNWithSigmaZeroEqualsThePlainForwardPass() throws {
        let net = model(noise: .dropout)
        let result = try evaluate(net, on: Self.data, testSigma: 0, ttnSamples: 5, batchSize: 10, seed: 1)
        let ttn = try XCTUnwrap(result.ttn)
        XCTAssertEqual(ttn, result.plain)
        net.eval()
        net.testSigma = 0
        let logits = net(Self.data.batch(indices: Array(0..<Self.data.count)).images)
        XCTAssertEqual(result.plain.predictions, logits.argmax(axis: 1))
        let nll = Double(crossEntropy(logits: logits, labels: Self.data.labels).item)
        XCTAssertEqual(result.plain.meanNegativeLogLikelihood, nll, accuracy: 1e-5)
        // An ODE block draws no noise at any σ: TTN equals the plain pass too.
        let ode = try evaluate(model(noise: .ode), on: Self.data, testSigma: 0.7, ttnSamples: 3, batchSize: 10, seed: 1)
        XCTAssertEqual(ode.ttn, ode.plain)
    }

    /// TTN with σ > 0 is a pure function of the seed (and batch size), and the seed matters; the
    /// model's mode, test σ and noise state are restored.
    func testTTNIsReproducibleForASeed() throws {
        let net = model(noise: .multiplicative, sigma: 1.5)
        net.noiseCounter = 42
        let a = try evaluate(net, on: Self.data, testSigma: 1.5, ttnSamples: 4, batchSize: 7, seed: 9)
        let b = try evaluate(net, on: Self.data, testSigma: 1.5, ttnSamples: 4, batchSize: 7, seed: 9)
        var c = a
        for seed in 10..<14 where c.ttn == a.ttn {
            c = try evaluate(net, on: Self.data, testSigma: 1.5, ttnSamples: 4, batchSize: 7, seed: UInt64(seed))
        }
        XCTAssertEqual(a.ttn, b.ttn)
        XCTAssertEqual(a.plain, b.plain)
        XCTAssertNotEqual(a.ttn?.meanNegativeLogLikelihood, c.ttn?.meanNegativeLogLikelihood, "the seed must change the TTN noise")
        XCTAssertTrue(net.isTraining)
        XCTAssertEqual(net.testSigma, 1.5)
        XCTAssertEqual(net.noiseSeed, 3)
        XCTAssertEqual(net.noiseCounter, 42)
        XCTAssertEqual(a.count, Self.data.count)
        XCTAssertEqual(a.ttn?.count, Self.data.count)
    }

    /// Evaluation splits each batch into one shard per thread; each image gets the noise it gets
    /// in the unsplit batch, so the predictions equal a single-threaded run's.
    func testShardedEvaluationMatchesOneThread() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var results: [EvaluationResult] = []
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            results.append(try evaluate(model(noise: .dropout, sigma: 0.8), on: Self.data, testSigma: 0.8, ttnSamples: 3,
                                        batchSize: 10, seed: 2))
        }
        for r in results.dropFirst() {
            XCTAssertEqual(r.plain.predictions, results[0].plain.predictions)
            XCTAssertEqual(r.ttn?.predictions, results[0].ttn?.predictions)
            XCTAssertEqual(r.ttn!.meanNegativeLogLikelihood, results[0].ttn!.meanNegativeLogLikelihood, accuracy: 1e-5)
        }
    }

    /// Evaluation split over 2 and 3 processes (round-robin batches, every process builds the
    /// result) equals one process bit for bit: predictions, NLL, with and without TTN.
    func testEvaluationOverProcessesEqualsOneProcess() throws {
        for noise in [BlockNoise.dropout, .ode] {
            let single = try evaluate(model(noise: noise), on: Self.data, testSigma: 0.4, ttnSamples: 3, batchSize: 5, seed: 9)
            for size in [2, 3] {
                // One model per process, made here (the initialiser's generator is global).
                let models = (0..<size).map { _ in model(noise: noise) }
                let results = try LocalGroup.run(size: size) { communicator in
                    try evaluate(models[communicator.rank], on: Self.data, testSigma: 0.4, ttnSamples: 3, batchSize: 5, seed: 9,
                                 communicator: communicator)
                }
                for (rank, result) in results.enumerated() {
                    let what = "\(noise), \(size) processes, rank \(rank)"
                    XCTAssertEqual(result.plain.predictions, single.plain.predictions, what)
                    XCTAssertEqual(result.ttn?.predictions, single.ttn?.predictions, what)
                    XCTAssertEqual(result.plain.meanNegativeLogLikelihood.bitPattern,
                                   single.plain.meanNegativeLogLikelihood.bitPattern, what)
                    XCTAssertEqual(result.ttn?.meanNegativeLogLikelihood.bitPattern,
                                   single.ttn?.meanNegativeLogLikelihood.bitPattern, what)
                    XCTAssertEqual(result.count, Self.data.count, what)
                }
            }
        }
    }

    /// Batch outputs survive the byte encoding exactly; a cut message is an error, not a crash.
    func testBatchOutputEncoding() throws {
        let a = BatchOutput(batch: 3, labels: [1, 0], logProbabilities: [-0.5, -1.25, .leastNonzeroMagnitude, -0],
                            probabilitySums: [0.25, 1e-300])
        let b = BatchOutput(batch: 0, labels: [], logProbabilities: [], probabilitySums: [])
        XCTAssertEqual(try BatchOutput.decodeAll(a.encoded() + b.encoded()), [a, b])
        XCTAssertThrowsError(try BatchOutput.decodeAll(Array(a.encoded().dropLast(3))))
        XCTAssertEqual(Array(SingleProcess.shared.share(of: 4)), [0, 1, 2, 3])
    }

    func testBadSettingsAreErrorsNamingTheSetting() {
        let net = model(noise: .ode)
        XCTAssertThrowsError(try evaluate(net, on: Self.data, testSigma: -1, ttnSamples: 1)) {
            XCTAssertEqual("\($0)", "invalid testSigma: expected a finite value ≥ 0, got -1.0")
        }
        XCTAssertThrowsError(try evaluate(net, on: Self.data, testSigma: 0, ttnSamples: 1, batchSize: 0)) {
            XCTAssertEqual("\($0)", "invalid batchSize: expected a positive integer, got 0")
        }
        let tenClasses = SyntheticImages.dataset(count: 4, seed: 1, classNames: (0..<10).map(String.init))
        XCTAssertThrowsError(try evaluate(net, on: tenClasses, testSigma: 0, ttnSamples: 0)) {
            XCTAssertEqual("\($0)", "invalid dataset: expected as many classes as the model's 2 outputs, got 10 classes")
        }
    }

    /// Wilson intervals against published values (Brown, Cai & DasGupta 2001; any calculator).
    func testWilsonIntervalMatchesKnownValues() {
        let a = ConfidenceInterval.wilson(successes: 81, trials: 100)
        XCTAssertEqual(a.lower, 0.7222, accuracy: 5e-5)
        XCTAssertEqual(a.upper, 0.8749, accuracy: 5e-5)
        XCTAssertEqual(a.level, 0.95, accuracy: 1e-9)
        let all = ConfidenceInterval.wilson(successes: 10, trials: 10)
        XCTAssertEqual(all.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(all.lower, 0.7225, accuracy: 5e-5)
        XCTAssertEqual(ConfidenceInterval.wilson(successes: 0, trials: 0), ConfidenceInterval(lower: 0, upper: 1, level: a.level))
    }

    func testConfusionMatrixCountsAndCSV() {
        var m = ConfusionMatrix(classCount: 3)
        for (t, p) in [(0, 0), (0, 1), (1, 1), (2, 2), (2, 2), (2, 0)] { m.add(truth: t, predicted: p) }
        XCTAssertEqual(m.total, 6)
        XCTAssertEqual(m.correct, 4)
        XCTAssertEqual(m.support, [2, 1, 3])
        XCTAssertEqual(m.perClassAccuracy.map { $0 ?? -1 }, [0.5, 1, 2.0 / 3])
        XCTAssertEqual(m.csv(classNames: ["a", "b,c", "d\"e"]),
                       "true\\predicted,a,\"b,c\",\"d\"\"e\"\na,1,1,0\n\"b,c\",0,1,0\n\"d\"\"e\",1,0,2\n")
        XCTAssertNil(ConfusionMatrix(classCount: 2).perClassAccuracy[0])
    }
}

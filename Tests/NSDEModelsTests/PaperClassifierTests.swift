import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import XCTest

final class PaperClassifierTests: XCTestCase {
    func testParameterCountsMatchThePaper() {
        XCTAssertEqual(PaperClassifier(size: .small, inChannels: 3, classes: 10).parameterCount, 115_594)
        XCTAssertEqual(PaperClassifier(size: .small, inChannels: 1, classes: 10).parameterCount, 114_442)
        XCTAssertEqual(PaperClassifier(size: .big, inChannels: 3, classes: 10).parameterCount, 2_440_202)
    }

    func testForwardShapesAndNoiseModes() {
        Initializer.manualSeed(0)
        let x = Tensor.randomUniform([2, 1, 12, 12], seed: 3)
        for noise in BlockNoise.allCases {
            let model = PaperClassifier(size: .small, inChannels: 1, classes: 10, width: 8, noise: noise, sigma: 0.5, steps: 3)
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

    func testStatesAreRecordedAtEveryStep() {
        let model = PaperClassifier(size: .small, inChannels: 1, width: 8, steps: 4)
        let states = model.solveBlock(model.embed(Tensor.randomUniform([1, 1, 8, 8], seed: 1)), recordStates: true)
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

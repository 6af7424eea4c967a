import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
#if canImport(Glibc)
import Glibc
@testable import NSDETraining
#endif

/// `Trainer`: learning, bit-identical resumption, divergence handling and the directory rules.
final class TrainerTests: XCTestCase {
    var directory: URL!
    static let train = SyntheticImages.dataset(count: 48, seed: 1)
    static let test = SyntheticImages.dataset(count: 16, seed: 2)

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-trainer-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func dir(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func configuration(optimizer: OptimizerConfiguration = .sgd(learningRate: 0.05), noise: BlockNoise = .dropout,
                              epochs: Int? = nil) -> TrainingConfiguration {
        TrainingConfiguration(dataset: "synthetic",
                              model: ModelConfiguration(inChannels: 1, classes: 2, width: 4, noise: noise, sigma: 0.3, steps: 2),
                              optimizer: optimizer, schedule: .staged(stages: [1, 1]), epochs: epochs,
                              batchSize: 8, cropPadding: 1, evaluationBatchSize: 16, seed: 7)
    }

    func bits(_ tensors: [String: Tensor]) -> [String: [UInt32]] { tensors.mapValues { $0.scalars.map(\.bitPattern) } }

    /// A run of 2 epochs equals a run of 1 epoch resumed for 1 more in a new trainer: every
    /// parameter and optimiser buffer bit for bit, the noise counter and the per-epoch losses.
    func testResumeIsBitIdenticalToAnUninterruptedRun() throws {
        for (name, optimizer) in [("sgd", OptimizerConfiguration.sgd(learningRate: 0.05)), ("adam", .adam(learningRate: 0.01))] {
            let full = try Trainer(configuration: Self.configuration(optimizer: optimizer), trainSet: Self.train, testSet: Self.test,
                                   outputDirectory: dir("full-\(name)"))
            let reference = try full.run()
            XCTAssertEqual(reference.history.count, 2)

            let first = try Trainer(configuration: Self.configuration(optimizer: optimizer, epochs: 1), trainSet: Self.train,
                                    testSet: Self.test, outputDirectory: dir("split-\(name)"))
            XCTAssertEqual(try first.run().history.count, 1)
            let resumed = try Trainer.resume(from: dir("split-\(name)"), trainSet: Self.train, testSet: Self.test,
                                             configuration: Self.configuration(optimizer: optimizer))
            XCTAssertEqual(resumed.resumedFromEpoch, 1)
            let result = try resumed.run()

            XCTAssertEqual(bits(result.stateDict), bits(reference.stateDict), name)
            XCTAssertEqual(bits(resumed.optimizer.stateDict()), bits(full.optimizer.stateDict()), name)
            XCTAssertEqual(resumed.model.noiseCounter, full.model.noiseCounter, name)
            XCTAssertEqual(result.history.map(\.trainLoss), reference.history.map(\.trainLoss), name)
            XCTAssertEqual(result.history.map(\.testAccuracy), reference.history.map(\.testAccuracy), name)
            let a = try Checkpoint.read(from: dir("full-\(name)")), b = try Checkpoint.read(from: dir("split-\(name)"))
            XCTAssertEqual(bits(a.model), bits(b.model), name)
            XCTAssertEqual(bits(a.optimizer), bits(b.optimizer), name)
            XCTAssertEqual(a.state.random, b.state.random, name)
            let lines = try String(contentsOf: dir("split-\(name)").appendingPathComponent("metrics.jsonl"), encoding: .utf8)
                .split(separator: "\n")
            XCTAssertEqual(lines.count, 2)
            XCTAssertEqual(lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .compactMap { $0["epoch"] as? Int }, [1, 2])
        }
    }

    /// The checkpoint records the thread count; resuming with another count warns (once, before
    /// the first epoch) and resuming with the same count or from an older checkpoint does not.
    func testResumeWithAnotherThreadCountWarns() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        _ = try Trainer(configuration: Self.configuration(epochs: 1), trainSet: Self.train, testSet: Self.test,
                        outputDirectory: dir("threads")).run()
        XCTAssertEqual(try Checkpoint.readState(from: dir("threads")).threads, 1)

        func warnings(resumingWith threads: Int, epochs: Int) throws -> [String] {
            Parallel.threadCount = threads
            let trainer = try Trainer.resume(from: dir("threads"), trainSet: Self.train, testSet: Self.test,
                                             configuration: Self.configuration(epochs: epochs))
            var messages: [String] = []
            trainer.progress = { if case let .warning(message) = $0 { messages.append(message) } }
            _ = try trainer.run()
            return messages
        }
        XCTAssertEqual(try warnings(resumingWith: 1, epochs: 1), [], "nothing to train, same count")
        let messages = try warnings(resumingWith: 2, epochs: 2)
        XCTAssertEqual(messages.count, 1)
        XCTAssert(messages.first?.contains("written with 1 thread;") == true, messages.first ?? "")
        XCTAssert(messages.first?.contains("--threads 1") == true, messages.first ?? "")
        XCTAssertEqual(try Checkpoint.readState(from: dir("threads")).threads, 2, "the new checkpoint records the new count")

        // A checkpoint.json without the field (written before it existed) still loads, silently.
        let url = dir("threads").appendingPathComponent(Checkpoint.stateFileName)
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertNotNil(json.removeValue(forKey: "threads"))
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: url)
        XCTAssertNil(try Checkpoint.readState(from: dir("threads")).threads)
        XCTAssertEqual(try warnings(resumingWith: 1, epochs: 3), [])
    }

    /// metrics.jsonl has one line per epoch with the contract's keys.
    func testMetricsLinesHaveTheContractKeys() throws {
        let trainer = try Trainer(configuration: Self.configuration(), trainSet: Self.train, testSet: Self.test, outputDirectory: dir("m"))
        _ = try trainer.run()
        let lines = try String(contentsOf: dir("m").appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for (i, line) in lines.enumerated() {
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["epoch", "lr", "train_loss", "train_acc", "test_acc", "seconds", "images_per_s"] {
                XCTAssertNotNil(json[key], "missing \(key)")
            }
            XCTAssertEqual(json["epoch"] as? Int, i + 1)
            XCTAssertEqual(json["lr"] as? Double ?? 0, i == 0 ? 0.05 : 0.005, accuracy: 1e-9)
        }
    }

    /// A loss that turns NaN/inf (a learning rate of 1e30 in epoch 2) stops training with an
    /// error naming the epoch and batch, and epoch 1's checkpoint stays intact.
    func testDivergenceStopsAndKeepsTheLastGoodCheckpoint() throws {
        var configuration = Self.configuration()
        configuration.schedule = .perEpoch([0.05, 1e30])
        configuration.epochs = 3
        let trainer = try Trainer(configuration: configuration, trainSet: Self.train, testSet: Self.test, outputDirectory: dir("nan"))
        XCTAssertThrowsError(try trainer.run()) { error in
            guard case let .diverged(what, epoch, batch, batches, last, directory)? = error as? TrainingError else {
                return XCTFail("expected divergence, got \(error)")
            }
            XCTAssertEqual(epoch, 2)
            XCTAssertEqual(last, 1)
            XCTAssertEqual(batches, 6)
            XCTAssertGreaterThan(batch, 1)
            XCTAssertEqual(directory, self.dir("nan").path)
            XCTAssertEqual("\(error)", "training diverged: the \(what) became NaN or infinite at epoch 2, batch \(batch) of 6; "
                + "the last good checkpoint (epoch 1) in \(self.dir("nan").path) is kept; lower the learning rate (or sigma) and train again into a new directory "
                + "(--resume continues with the same settings, so it would diverge again)")
        }
        let saved = try Checkpoint.read(from: dir("nan"))
        XCTAssertEqual(saved.state.epoch, 1)
        XCTAssertTrue(saved.model.values.allSatisfy(\.isFinite))
        let lines = try String(contentsOf: dir("nan").appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1)
    }

    /// A small SDE classifier (additive noise) learns the two-class synthetic task to > 90 %
    /// test accuracy in a few epochs.
    func testSmallSDEClassifierLearnsASyntheticTask() throws {
        let configuration = TrainingConfiguration(
            dataset: "synthetic",
            model: ModelConfiguration(inChannels: 1, classes: 2, width: 8, noise: .additive, sigma: 0.2, steps: 2),
            optimizer: .sgd(learningRate: 0.05), schedule: .staged(stages: [4]), batchSize: 16, cropPadding: 0,
            evaluationBatchSize: 100, seed: 0)
        let trainer = try Trainer(configuration: configuration, trainSet: SyntheticImages.dataset(count: 256, seed: 3),
                                  testSet: SyntheticImages.dataset(count: 200, seed: 4))
        let result = try trainer.run()
        let accuracy = try XCTUnwrap(result.final?.testAccuracy)
        XCTAssertGreaterThan(accuracy, 0.9, "history \(result.history.map { ($0.trainLoss, $0.testAccuracy ?? -1) })")
        // TTN on the trained model agrees with the plain accuracy to within a few points.
        let ttn = try evaluate(trainer.model, on: SyntheticImages.dataset(count: 200, seed: 4), testSigma: 0.2, ttnSamples: 4)
        XCTAssertGreaterThan(try XCTUnwrap(ttn.accuracyTTN), 0.85)
    }

    func testNewRunRefusesADirectoryWithACheckpoint() throws {
        _ = try Trainer(configuration: Self.configuration(epochs: 1), trainSet: Self.train, testSet: nil, outputDirectory: dir("x")).run()
        XCTAssertThrowsError(try Trainer(configuration: Self.configuration(), trainSet: Self.train, testSet: nil, outputDirectory: dir("x"))) {
            XCTAssertEqual("\($0)", "\(self.dir("x").path) already holds a checkpoint (epoch 1): pass --resume to continue it, or choose another output directory")
        }
    }

    func testResumeRejectsOtherSettingsAndOtherData() throws {
        _ = try Trainer(configuration: Self.configuration(epochs: 1), trainSet: Self.train, testSet: Self.test, outputDirectory: dir("r")).run()
        var other = Self.configuration()
        other.model.sigma = 0.5
        other.batchSize = 4
        XCTAssertThrowsError(try Trainer.resume(from: dir("r"), trainSet: Self.train, testSet: Self.test, configuration: other)) {
            XCTAssertEqual("\($0)", "cannot resume \(self.dir("r").path) with different settings (batch_size: 8 -> 4; model.sigma: 0.3 -> 0.5); "
                + "a resumed run keeps its configuration except --epochs (to run the new settings, choose another output directory "
                + "or move that run away)")
        }
        XCTAssertThrowsError(try Trainer.resume(from: dir("r"), trainSet: SyntheticImages.dataset(count: 48, seed: 9), testSet: Self.test)) {
            XCTAssertTrue("\($0)".hasPrefix("cannot resume \(self.dir("r").path): the training data differ from the checkpoint's (48 examples"), "\($0)")
        }
    }

    func testDataThatDoNotFitTheModelAreAnError() {
        let tenClasses = SyntheticImages.dataset(count: 16, seed: 1, classNames: (0..<10).map(String.init))
        XCTAssertThrowsError(try Trainer(configuration: Self.configuration(), trainSet: tenClasses, testSet: nil)) {
            XCTAssertEqual("\($0)", "the data do not fit the model: the training set has 10 classes, the model has 2 outputs")
        }
        var big = Self.configuration()
        big.batchSize = 64
        XCTAssertThrowsError(try Trainer(configuration: big, trainSet: Self.train, testSet: nil)) {
            XCTAssertEqual("\($0)", "the data do not fit the model: 48 training examples make no full batch of 64 (the last partial batch is dropped)")
        }
    }

    /// An unsupported solver/gradient combination fails before training, not in a trap.
    func testUnsupportedSolverIsAnErrorBeforeTraining() {
        var c = Self.configuration()
        c.model.solver = .sra1   // additive-noise solver, dropout noise is diagonal
        XCTAssertThrowsError(try Trainer(configuration: c, trainSet: Self.train, testSet: nil)) {
            XCTAssertTrue("\($0)".hasPrefix("invalid training configuration: SRA1 does not support diagonal noise"), "\($0)")
        }
        c.model.solver = .eulerMaruyama
        c.model.gradient = .reversibleAdjoint
        XCTAssertThrowsError(try Trainer(configuration: c, trainSet: Self.train, testSet: nil)) {
            XCTAssertEqual("\($0)", "invalid gradient: expected the reversible-heun solver for reversible-adjoint (solver is euler-maruyama), got reversible-adjoint")
        }
    }

    /// Another process (here: another open file description) holding OUT/.lock blocks a trainer.
    func testLockedDirectoryIsAnError() throws {
        try FileManager.default.createDirectory(at: dir("locked"), withIntermediateDirectories: true)
        let fd = open(dir("locked").appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        XCTAssertThrowsError(try Trainer(configuration: Self.configuration(), trainSet: Self.train, testSet: nil, outputDirectory: dir("locked"))) {
            XCTAssertEqual("\($0)", "\(self.dir("locked").path) is in use by another training process (lock file \(self.dir("locked").path)/.lock)")
        }
    }
}

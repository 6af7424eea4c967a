import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDETraining
@testable import NSDERobustness

/// Bounds on every input a user or a file can give: model sizes, checkpoint fields, weights,
/// image geometry, thread counts, corruption indices; each gives a clear error, never a trap.
final class InputBoundsCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-bounds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testModelSizesAreBoundedInCodeAndInSavedConfigurations() throws {
        for (change, message) in [({ (c: inout ModelConfiguration) in c.width = 1_000_000_000 }, "invalid width: expected at most 4096, got 1000000000"),
                                  ({ (c: inout ModelConfiguration) in c.steps = 1_000_000_000_000 }, "invalid steps: expected at most 100000"),
                                  ({ (c: inout ModelConfiguration) in c.classes = 1 << 40 }, "invalid classes: expected at most 100000")] {
            var c = ModelConfiguration(inChannels: 1, classes: 10, width: 4, steps: 2)
            change(&c)
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".hasPrefix(message), "\($0)") }
            // The same sizes in a saved configuration are refused when decoded.
            let data = try JSONEncoder().encode(c)
            XCTAssertThrowsError(try JSONDecoder().decode(ModelConfiguration.self, from: data)) {
                XCTAssertTrue(readableError($0).contains(message), readableError($0))
            }
            XCTAssertThrowsError(try Checkpoint.modelConfiguration(metadata: [Checkpoint.modelMetadataKey: String(decoding: data, as: UTF8.self)])) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
    }

    func testInconsistentCheckpointEpochsAreRefused() throws {
        let trainer = try Trainer(configuration: SyntheticImages.trainingConfiguration(), trainSet: SyntheticImages.dataset(count: 32, seed: 1),
                                  testSet: SyntheticImages.dataset(count: 16, seed: 2), outputDirectory: directory)
        _ = try trainer.run()
        let url = directory.appendingPathComponent(Checkpoint.stateFileName)
        let original = try Data(contentsOf: url)
        for (epoch, message) in [("-1", "epoch -1 is negative"), ("5", "epoch 5 but the history lists epochs 1 (expected 1...5 in order)"),
                                 ("1000000000000000000", "epoch 1000000000000000000 but the history lists epochs 1"),
                                 ("0", "epoch 0 but the history lists epochs 1")] {
            var object = try XCTUnwrap(JSONSerialization.jsonObject(with: original) as? [String: Any])
            object["epoch"] = Int(epoch)!
            try JSONSerialization.data(withJSONObject: object).write(to: url)
            XCTAssertThrowsError(try Checkpoint.read(from: directory)) {
                XCTAssertTrue("\($0)".contains("checkpoint.json: " + message), "\($0)")
            }
        }
        try original.write(to: url)
        XCTAssertEqual(try Checkpoint.read(from: directory).state.epoch, 1)
    }

    func testNonFiniteWeightsAndLogitsAreErrors() throws {
        let model = ModelConfiguration(inChannels: 1, classes: 2, width: 4, steps: 2).makeModel()
        var weights = model.stateDict()
        let name = weights.keys.sorted()[0]
        var values = weights[name]!.scalars
        values[0] = .infinity
        weights[name] = Tensor(shape: weights[name]!.shape, scalars: values)
        XCTAssertThrowsError(try model.loadStateDict(weights)) {
            XCTAssertTrue("\($0)".contains("non-finite weights: \(name): 1 of \(values.count) values are NaN or infinite"), "\($0)")
        }
        // Weights set directly (bypassing the check) give a NaN state or NaN logits: evaluation
        // throws instead of reporting an accuracy.
        for p in model.parameters { p.assign(Tensor(repeating: .nan, shape: p.shape)) }
        XCTAssertThrowsError(try evaluate(model, on: SyntheticImages.dataset(count: 8, seed: 3), testSigma: 0, ttnSamples: 0)) {
            XCTAssertTrue("\($0)".contains("NaN"), "\($0)")
        }
        // Only the head's weights non-finite: the block stays finite, the logits do not.
        let head = ModelConfiguration(inChannels: 1, classes: 2, width: 4, steps: 2).makeModel()
        for (name, p) in head.namedParameters() where name == "fc.weight" {
            p.assign(Tensor(repeating: .infinity, shape: p.shape))
        }
        XCTAssertThrowsError(try evaluate(head, on: SyntheticImages.dataset(count: 8, seed: 3), testSigma: 0, ttnSamples: 0)) {
            XCTAssertTrue("\($0)".contains("NaN or infinite logits"), "\($0)")
        }
    }

    func testImageGeometryIsCheckedBeforeAnyKernel() {
        let c = ModelConfiguration(inChannels: 1, classes: 2, width: 4, steps: 2)
        XCTAssertNoThrow(try c.checkCompatible(with: SyntheticImages.dataset(count: 4, size: 3, seed: 1), split: "test"))
        XCTAssertThrowsError(try c.checkCompatible(with: SyntheticImages.dataset(count: 4, size: 2, seed: 1), split: "test")) {
            XCTAssertEqual("\($0)", "the data do not fit the model: the test images ([1, 2, 2]) are too small for paper-small: expected at least 3x3 pixels")
        }
        var rgb = c
        rgb.inChannels = 3
        XCTAssertThrowsError(try rgb.checkCompatible(with: SyntheticImages.dataset(count: 4, seed: 1), split: "test")) {
            XCTAssertTrue("\($0)".contains("have 1 channels"), "\($0)")
        }
    }

    func testCorruptionIndicesAreBounded() throws {
        let batch = CorruptionBatch(count: 2, height: 4, width: 4, channels: 1, pixels: [UInt8](repeating: 9, count: 32))
        XCTAssertThrowsError(try batch.corrupted(by: GaussianNoise(), severity: 1, seed: 0, firstIndex: CorruptionStreams.indexLimit - 1)) {
            XCTAssertEqual($0 as? RobustnessError, .indexOutOfRange(firstIndex: CorruptionStreams.indexLimit - 1, count: 2, limit: 1 << 48))
        }
        XCTAssertNoThrow(try batch.corrupted(by: GaussianNoise(), severity: 1, seed: 0, firstIndex: CorruptionStreams.indexLimit - 2))
        XCTAssertThrowsError(try batch.allSeverities(by: GaussianNoise(), seed: 0, firstIndex: -1))
    }

    /// The command line: each bad input exits non-zero with its message, nothing traps.
    func testCommandsRefuseBadInputsWithClearMessages() throws {
        let data = directory.appendingPathComponent("data"), tiny = directory.appendingPathComponent("tiny")
        try SyntheticImages.writeMNISTLayout(to: data, train: 64, test: 16)
        try SyntheticImages.writeMNISTLayout(to: tiny, train: 64, test: 16, size: 2)
        let run = directory.appendingPathComponent("run")
        let train = try NSDEExecutable.run(["train", "--dataset", "mnist", "--data-dir", data.path, "--out", run.path, "--width", "4",
                                            "--gn-groups", "2", "--steps", "2", "--epochs", "1", "--batch-size", "32", "--threads", "1"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let images = directory.appendingPathComponent("images.npy")
        try NumPy.write(NumPyArray([UInt8](repeating: 1, count: 32), shape: [2, 4, 4, 1]), to: images)
        let cases: [([String], String)] = [
            (["eval", "--checkpoint", run.path, "--data-dir", tiny.path], "are too small for paper-small: expected at least 3x3 pixels"),
            (["attack", "--checkpoint", run.path, "--data-dir", tiny.path, "--out", directory.appendingPathComponent("a").path],
             "are too small for paper-small"),
            (["eval-corrupt", "--checkpoint", run.path, "--data-dir", tiny.path], "are too small for paper-small"),
            (["stability", "model", "--checkpoint", run.path, "--data-dir", tiny.path], "are too small for paper-small"),
            (["eval", "--checkpoint", directory.appendingPathComponent("nowhere").path], "does not exist and holds no checkpoint.json"),
            (["model", "summary", "--width", "1000000000"], "invalid width: expected at most 4096, got 1000000000"),
            (["train", "--dataset", "mnist", "--data-dir", data.path, "--out", directory.appendingPathComponent("t1").path, "--noise", "ode",
              "--sigma", "0.5"], "--sigma 0.5 has no effect with --noise ode"),
            (["train", "--dataset", "mnist", "--data-dir", data.path, "--out", directory.appendingPathComponent("t2").path,
              "--crop-padding", "100000"], "--crop-padding must be 0...64, got 100000"),
            (["corrupt", "--input", images.path, "--corruption", "fog", "--severity", "1", "--out", directory.appendingPathComponent("o.npy").path,
              "--first-index", "281474976710656"], "--first-index must be in 0..<2^48"),
            (["corrupt", "--input", images.path, "--corruption", "fog", "--severity", "1", "--out", directory.appendingPathComponent("o.npy").path,
              "--first-index", "281474976710655"], "expected first index + count <= 281474976710656"),
            (["corrupt", "--input", images.path, "--corruption", "fog,fog", "--all-severities", "--out-dir", directory.appendingPathComponent("od").path],
             "--corruption lists 'fog' twice"),
            (["corrupt", "--input", "/dev/null", "--corruption", "fog", "--severity", "1", "--out", directory.appendingPathComponent("o.npy").path],
             "/dev/null: I/O error: is a character device, expected a regular file"),
        ]
        for (arguments, message) in cases {
            let result = try NSDEExecutable.run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("Fatal error") || result.stderr.contains("NSCocoaErrorDomain"), result.stderr)
        }
        // Far more threads than cores: a warning and a cap, not a crawl.
        let threads = try NSDEExecutable.run(["eval", "--checkpoint", run.path, "--data-dir", data.path, "--ttn", "0", "--threads", "1000"])
        XCTAssertEqual(threads.status, 0, threads.stderr)
        XCTAssertTrue(threads.stderr.contains("warning: --threads 1000 is more than 4 per core"), threads.stderr)
    }
}

import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDEPlot
@testable import NSDETraining

/// Crash consistency of checkpoints under injected write and rename failures: whichever atomic
/// write or rename of a run fails — once, or once more right after resuming — resuming the run
/// reaches the same final weights as a run that never failed.
final class CheckpointFaultTests: XCTestCase {
    var directory: URL!
    static let train = SyntheticImages.dataset(count: 32, seed: 1)
    static let test = SyntheticImages.dataset(count: 8, seed: 2)

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-faults-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        FaultInjection.decide = nil
        try? FileManager.default.removeItem(at: directory)
    }

    static let configuration = TrainingConfiguration(
        dataset: "synthetic", model: ModelConfiguration(inChannels: 1, classes: 2, width: 4, noise: .dropout, sigma: 0.3, steps: 2),
        optimizer: .sgd(learningRate: 0.05), schedule: .staged(stages: [2, 1]), batchSize: 8, cropPadding: 1, evaluationBatchSize: 8,
        seed: 11)

    func bits(_ tensors: [String: Tensor]) -> [String: [UInt32]] { tensors.mapValues { $0.scalars.map(\.bitPattern) } }

    /// Fails the operations whose 0-based indices (counting writes and renames together, in
    /// order) are in `failing`; returns how many operations were attempted.
    func injecting(_ failing: Set<Int>, _ body: () throws -> Void) rethrows -> Int {
        var index = 0
        FaultInjection.decide = { _, _ in
            defer { index += 1 }
            return failing.contains(index)
        }
        defer { FaultInjection.decide = nil }
        try body()
        return index
    }

    /// Runs to the end, resuming after each failure (at most `attempts` times).
    func trainToTheEnd(_ out: URL) throws -> [String: Tensor] {
        if Checkpoint.exists(in: out) {
            return try Trainer.resume(from: out, trainSet: Self.train, testSet: Self.test).run().stateDict
        }
        return try Trainer(configuration: Self.configuration, trainSet: Self.train, testSet: Self.test, outputDirectory: out).run().stateDict
    }

    func testEveryFailedWriteOrRenameOnceOrTwiceInARowResumesToTheSameWeights() throws {
        let reference = try trainToTheEnd(directory.appendingPathComponent("reference"))
        let operations = try injecting([]) { _ = try trainToTheEnd(directory.appendingPathComponent("count")) }
        XCTAssertGreaterThanOrEqual(operations, 3 * 6, "3 checkpoints of 3 files, each written and renamed")
        for failure in 0..<operations {
            for twice in [false, true] {
                let out = directory.appendingPathComponent("fail-\(failure)-\(twice)")
                let name = "operation \(failure)\(twice ? " and again after resuming" : "")"
                _ = try injecting([failure]) {
                    XCTAssertThrowsError(try trainToTheEnd(out), name)
                }
                if twice {
                    // The resumed process fails at the same step of its first checkpoint write.
                    let offset = (failure >= 2 ? (failure - 2) % 6 : failure) + 2
                    _ = try injecting([offset]) { _ = try? trainToTheEnd(out) }
                }
                let final = try trainToTheEnd(out)
                XCTAssertEqual(bits(final), bits(reference), name)
                XCTAssertEqual(try Checkpoint.readState(from: out).epoch, 3, name)
                let metrics = try String(contentsOf: out.appendingPathComponent(Checkpoint.metricsFileName), encoding: .utf8)
                XCTAssertEqual(metrics.split(separator: "\n").count, 3, "\(name): one metrics line per epoch")
            }
        }
    }

    func testTwoFailedCommitsInARowKeepTheCommittedGeneration() throws {
        // The reported data loss: the state file's commit fails twice in a row (disk full), so the
        // current tensor files are uncommitted leftovers; the committed copies must survive.
        let out = directory.appendingPathComponent("run")
        var first = Self.configuration
        first.epochs = 1
        _ = try Trainer(configuration: first, trainSet: Self.train, testSet: Self.test, outputDirectory: out).run()
        let committed = try Checkpoint.read(from: out)
        let failState: (FaultInjection.Operation, String) -> Bool = { op, path in op == .write && path.hasSuffix(Checkpoint.stateFileName) }
        for _ in 0..<2 {
            FaultInjection.decide = failState
            XCTAssertThrowsError(try Trainer.resume(from: out, trainSet: Self.train, testSet: Self.test, configuration: Self.configuration).run())
            FaultInjection.decide = nil
            let read = try Checkpoint.read(from: out)
            XCTAssertEqual(read.state.epoch, 1)
            XCTAssertEqual(bits(read.model), bits(committed.model))
        }
        let final = try Trainer.resume(from: out, trainSet: Self.train, testSet: Self.test, configuration: Self.configuration).run()
        let reference = try trainToTheEnd(directory.appendingPathComponent("reference"))
        XCTAssertEqual(bits(final.stateDict), bits(reference))
    }

    func testTheEnvironmentPlanFailsTheNthWriteOfACommand() throws {
        // `nsde train` with NSDE_FAULT_INJECTION fails its fifth atomic write (epoch 2's model file; the first is metrics.jsonl, then 3 per checkpoint); --resume finishes.
        let data = directory.appendingPathComponent("data")
        try SyntheticImages.writeMNISTLayout(to: data, train: 64, test: 16)
        let out = directory.appendingPathComponent("cli")
        let arguments = ["train", "--dataset", "mnist", "--data-dir", data.path, "--width", "4", "--steps", "2", "--stages", "2",
                         "--batch-size", "16", "--test-subset", "8", "--threads", "1", "--out", out.path]
        let failed = try NSDEExecutable.run(arguments, environment: ["NSDE_FAULT_INJECTION": "write:5"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.stderr.contains("injected fault"), failed.stderr)
        XCTAssertEqual(try Checkpoint.readState(from: out).epoch, 1, "epoch 1 stays committed")
        let resumed = try NSDEExecutable.run(arguments + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Checkpoint.readState(from: out).epoch, 2)
    }
}

import Foundation
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDETraining

/// `nsde train` as a process: killed with SIGKILL mid-run, it resumes from the last complete
/// checkpoint and ends bit-identical to an uninterrupted run.
final class TrainCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-train-cli-\(UUID().uuidString)")
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 1024, test: 32)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func arguments(out: String, epochs: Int = 5) -> [String] {
        ["train", "--dataset", "mnist", "--data-dir", directory.appendingPathComponent("data").path,
         "--width", "4", "--steps", "2", "--noise", "additive", "--sigma", "0.3", "--stages", "3,\(epochs - 3)",
         "--batch-size", "16", "--crop-padding", "1", "--seed", "3", "--threads", "1",
         "--out", directory.appendingPathComponent(out).path]
    }

    func bits(_ tensors: [String: Tensor]) -> [String: [UInt32]] { tensors.mapValues { $0.scalars.map(\.bitPattern) } }

    func testKilledRunResumesBitIdentically() throws {
        let reference = try NSDEExecutable.run(arguments(out: "reference") + ["--json"])
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let json = try NSDEExecutable.object(reference.stdout)
        XCTAssertEqual(json["epochs_completed"] as? Int, 5)

        // Start the same run elsewhere; kill it with SIGKILL soon after its first checkpoint.
        let killedDir = directory.appendingPathComponent("killed")
        let out = Pipe(), err = Pipe()
        let process = try NSDEExecutable.process(arguments(out: "killed"), stdout: out, stderr: err)
        let drain = DispatchQueue(label: "drain")
        try process.run()
        drain.async { _ = err.fileHandleForReading.readDataToEndOfFile() }
        let deadline = Date().addingTimeInterval(120)
        var committed = 0
        while Date() < deadline, process.isRunning {
            if let state = try? Checkpoint.readState(from: killedDir), state.epoch >= 1 { committed = state.epoch; break }
            usleep(2_000)
        }
        usleep(UInt32.random(in: 0...150_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run finished before it could be killed")
        XCTAssertGreaterThanOrEqual(committed, 1)

        // What the killed run left loads, and is a complete epoch short of the end.
        let left = try Checkpoint.read(from: killedDir)
        XCTAssertGreaterThanOrEqual(left.state.epoch, 1)
        XCTAssertLessThan(left.state.epoch, 5)

        // --data-dir defaults to the directory the run started with.
        let resumed = try NSDEExecutable.run(["train", "--out", killedDir.path, "--resume", "--threads", "1", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let resumedJSON = try NSDEExecutable.object(resumed.stdout)
        XCTAssertEqual(resumedJSON["resumed_from_epoch"] as? Int, left.state.epoch)
        XCTAssertEqual(resumedJSON["epochs_completed"] as? Int, 5)

        let a = try Checkpoint.read(from: directory.appendingPathComponent("reference"))
        let b = try Checkpoint.read(from: killedDir)
        XCTAssertEqual(bits(b.model), bits(a.model))
        XCTAssertEqual(bits(b.optimizer), bits(a.optimizer))
        XCTAssertEqual(b.state.random, a.state.random)
        XCTAssertEqual(b.state.history.map(\.trainLoss), a.state.history.map(\.trainLoss))
        let lines = try String(contentsOf: killedDir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: killedDir.path).filter { $0.contains(".tmp-") || $0.hasSuffix(".previous") }
        XCTAssertEqual(leftovers, [])
    }

    /// Four SIGKILLs at seeded random moments (during epochs or checkpoint writes alike), each
    /// followed by a resume (or a fresh start when no checkpoint was committed yet): the run
    /// still ends bit-identical to an uninterrupted one, with nothing left behind.
    func testRepeatedKillsAtRandomMomentsResumeBitIdentically() throws {
        let started = Date()
        let reference = try NSDEExecutable.run(arguments(out: "reference", epochs: 4))
        XCTAssertEqual(reference.status, 0, reference.stderr)
        // Kill moments are fractions of the reference run's duration, so that they fall inside a
        // run on a fast machine as on a slow one.
        let duration = Date().timeIntervalSince(started)
        let killedDir = directory.appendingPathComponent("killed")
        var generator = PhiloxGenerator(seed: 2026, stream: 11)
        var kills = 0
        for _ in 0..<4 {
            let resume = Checkpoint.exists(in: killedDir)
            let args = resume ? ["train", "--out", killedDir.path, "--resume", "--threads", "1"] : arguments(out: "killed", epochs: 4)
            let out = Pipe(), err = Pipe()
            let process = try NSDEExecutable.process(args, stdout: out, stderr: err)
            DispatchQueue(label: "drain-out").async { _ = out.fileHandleForReading.readDataToEndOfFile() }
            DispatchQueue(label: "drain-err").async { _ = err.fileHandleForReading.readDataToEndOfFile() }
            try process.run()
            let fraction = 0.1 + 0.8 * Double(generator.next() % 1_000) / 1_000
            usleep(UInt32(fraction * duration * 1e6))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            // Whatever the moment, what is left loads (or there is no checkpoint yet).
            if Checkpoint.exists(in: killedDir) { XCTAssertNoThrow(try Checkpoint.read(from: killedDir)) }
        }
        XCTAssertGreaterThan(kills, 0, "every run finished before its kill")
        let finish = try NSDEExecutable.run(Checkpoint.exists(in: killedDir)
            ? ["train", "--out", killedDir.path, "--resume", "--threads", "1"] : arguments(out: "killed", epochs: 4))
        XCTAssertEqual(finish.status, 0, finish.stderr)
        let a = try Checkpoint.read(from: directory.appendingPathComponent("reference"))
        let b = try Checkpoint.read(from: killedDir)
        XCTAssertEqual(b.state.epoch, 4)
        XCTAssertEqual(bits(b.model), bits(a.model))
        XCTAssertEqual(bits(b.optimizer), bits(a.optimizer))
        XCTAssertEqual(b.state.history.map(\.trainLoss), a.state.history.map(\.trainLoss))
        let lines = try String(contentsOf: killedDir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: killedDir.path).filter { $0.contains(".tmp-") || $0.hasSuffix(".previous") }
        XCTAssertEqual(leftovers, [])
    }

    /// Resuming with a different setting is refused with the differences named; a new run into a
    /// directory with a checkpoint is refused; a divergence exits non-zero naming epoch and batch.
    func testTrainCommandErrors() throws {
        let first = try NSDEExecutable.run(arguments(out: "run", epochs: 4) + ["--epochs", "1", "--json"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let runDir = directory.appendingPathComponent("run").path
        let again = try NSDEExecutable.run(arguments(out: "run", epochs: 4))
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("\(runDir) already holds a checkpoint (epoch 1): pass --resume"), again.stderr)
        let other = try NSDEExecutable.run(["train", "--out", runDir, "--resume", "--sigma", "0.5", "--batch-size", "32"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("cannot resume \(runDir) with different settings (batch_size: 16 -> 32; model.sigma: 0.3 -> 0.5)"), other.stderr)
        let diverged = try NSDEExecutable.run(arguments(out: "nan", epochs: 4) + ["--lr", "1e30"])
        XCTAssertNotEqual(diverged.status, 0)
        XCTAssertTrue(diverged.stderr.contains("training diverged: the "), diverged.stderr)
        XCTAssertTrue(diverged.stderr.contains("at epoch 1, batch "), diverged.stderr)
        XCTAssertTrue(diverged.stdout.isEmpty)
    }
}

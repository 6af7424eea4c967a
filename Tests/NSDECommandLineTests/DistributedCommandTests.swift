import Foundation
import NSDETestSupport
import XCTest

/// `--distributed` under Open MPI's `mpirun` (2 processes on this machine): the contract of
/// issue 14 for evaluation, the error without a launcher, and ranks started differently.
final class DistributedCommandTests: XCTestCase {
    /// The shipped demo SDE model (`models/demo` of this checkout).
    private static let model = ShippedDemoModelsTests.root.appendingPathComponent("dropout-0.3")

    /// The demo SDE model on the first 200 test images with 3 TTN passes, 1 thread per process.
    private let evalArguments = ["eval", "--checkpoint", model.path, "--test-subset", "200", "--ttn", "3",
                                 "--batch-size", "32", "--json", "--threads", "1"]

    /// Two processes give exactly the single process's numbers (accuracies, NLLs, per-class
    /// results); only rank 0 prints, and its JSON gains `ranks`.
    func testTwoProcessEvaluationEqualsOneProcess() throws {
        let single = try NSDEExecutable.run(evalArguments)
        XCTAssertEqual(single.status, 0, single.stderr)
        let one = try NSDEExecutable.object(single.stdout)
        XCTAssertNil(one["ranks"], "ranks is only reported with --distributed")

        let job = try NSDEExecutable.runUnderMPI(perRank: Array(repeating: evalArguments + ["--distributed"], count: 2))
        XCTAssertEqual(job.status, 0, job.stderr)
        let two = try NSDEExecutable.object(job.stdout)   // exactly one JSON line: rank 0 alone prints
        XCTAssertEqual(two["ranks"] as? Int, 2)
        for key in ["accuracy", "accuracy_ttn", "nll", "nll_ttn", "correct", "correct_ttn", "n"] {
            XCTAssertEqual("\(two[key] ?? "missing")", "\(one[key] ?? "missing")", key)
        }
        XCTAssertEqual(two["per_class"] as? NSArray, one["per_class"] as? NSArray)
        XCTAssertNotNil(one["per_class"] as? NSArray)
    }

    /// Without an MPI launcher, --distributed is one clear line and a non-zero exit.
    func testDistributedWithoutLauncherIsAnError() throws {
        let run = try NSDEExecutable.run(evalArguments + ["--distributed"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("--distributed needs an MPI launcher"), run.stderr)
        XCTAssertTrue(run.stdout.isEmpty, run.stdout)
    }

    /// Processes started with different arguments are refused, naming the difference, and the
    /// job ends (no process waits for the others).
    func testProcessesWithDifferentArgumentsAreRefused() throws {
        let job = try NSDEExecutable.runUnderMPI(perRank: [evalArguments + ["--distributed"],
                                                           evalArguments + ["--distributed", "--seed", "5"]])
        XCTAssertNotEqual(job.status, 0)
        XCTAssertTrue(job.stderr.contains("the processes were started with different settings"), job.stderr)
        XCTAssertTrue(job.stderr.contains("--seed 5"), job.stderr)
    }
}

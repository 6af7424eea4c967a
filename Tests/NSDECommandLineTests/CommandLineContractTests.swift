import Foundation
import NSDETestSupport
import XCTest
@testable import NSDETraining

/// The `--json` contracts of `nsde` that scripts outside the repository rely on.
final class CommandLineContractTests: XCTestCase {
    /// Runs `nsde` with `arguments`; returns (exit status, stdout, stderr) (``NSDEExecutable``: skips
    /// when `nsde` is not built, except under CI, where that fails).
    func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let r = try NSDEExecutable.run(arguments)
        return (r.status, r.stdout, r.stderr)
    }

    /// Parses stdout as exactly one JSON object on one line.
    func object(_ stdout: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try NSDEExecutable.object(stdout, file: file, line: line)
    }

    func testInfoJSON() throws {
        let (status, stdout, _) = try run(["info", "--json"])
        XCTAssertEqual(status, 0)
        let json = try object(stdout)
        for key in ["version", "blas", "dnnl", "threads"] { XCTAssertNotNil(json[key], "missing \(key)") }
    }

    func testTrainStepJSON() throws {
        let (status, stdout, _) = try run(["bench", "train-step", "--model", "paper-small", "--batch", "2", "--steps", "1",
                                           "--repeats", "1", "--warmup", "0", "--json"])
        XCTAssertEqual(status, 0)
        let json = try object(stdout)
        for key in ["images_per_s", "median_s", "parameters"] { XCTAssertNotNil(json[key], "missing \(key)") }
        XCTAssertEqual(json["parameters"] as? Int, 115_594)
        for key in ["effective_gflops", "gemm_gflops", "shards"] { XCTAssertNotNil(json[key], "missing \(key)") }
        XCTAssertEqual(json["shards"] as? Int, min(json["threads"] as? Int ?? 1, 2))
        // Two shards side by side, and a shard count larger than the batch is an error naming it.
        let (two, out2, _) = try run(["bench", "train-step", "--batch", "2", "--steps", "1", "--repeats", "1", "--warmup", "0",
                                      "--shards", "2", "--json"])
        XCTAssertEqual(two, 0)
        XCTAssertEqual(try object(out2)["shards"] as? Int, 2)
        let (bad, _, stderr) = try run(["bench", "train-step", "--batch", "2", "--shards", "3"])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(stderr.contains("--shards must be in 1...2 (the batch size), got 3"), stderr)
    }

    func testMLPSDEJSONReportsShards() throws {
        let (status, stdout, _) = try run(["bench", "mlp-sde", "--batch", "8", "--steps", "3", "--repeats", "1", "--warmup", "0",
                                           "--shards", "2", "--json"])
        XCTAssertEqual(status, 0)
        let json = try object(stdout)
        for key in ["median_ms", "flop_floor_ms", "floor_ratio", "gemm_gflops", "shards", "loss"] { XCTAssertNotNil(json[key], "missing \(key)") }
        XCTAssertEqual(json["shards"] as? Int, 2)
        // One GEMM-rate sample per timed run; the floor is at their median, the ratio run over floor.
        let samples = try XCTUnwrap(json["gemm_gflops_samples"] as? [Double])
        XCTAssertEqual(samples.count, 1)
        XCTAssertEqual(json["gemm_gflops"] as? Double ?? .nan, samples[0], accuracy: 1e-9)
        let median = try XCTUnwrap(json["median_ms"] as? Double), floor = try XCTUnwrap(json["flop_floor_ms"] as? Double)
        XCTAssertEqual(json["floor_ratio"] as? Double ?? .nan, median / floor, accuracy: 1e-9 * median / floor)
        let (one, out1, _) = try run(["bench", "mlp-sde", "--batch", "8", "--steps", "3", "--repeats", "1", "--warmup", "0",
                                      "--shards", "1", "--json"])
        XCTAssertEqual(one, 0)
        // The same problem, split or not: the loss agrees to rounding.
        XCTAssertEqual(try object(out1)["loss"] as? Double ?? .nan, json["loss"] as? Double ?? .nan, accuracy: 1e-5)
        // Checkpointed backprop: the same loss, and its floor counts the re-run (4 evaluations per step against 3).
        let (checkpointed, out2, _) = try run(["bench", "mlp-sde", "--batch", "8", "--steps", "3", "--repeats", "1", "--warmup", "0",
                                               "--shards", "2", "--mode", "checkpointed", "--every", "2", "--json"])
        XCTAssertEqual(checkpointed, 0)
        let c = try object(out2)
        XCTAssertEqual(c["mode"] as? String, "checkpointed")
        XCTAssertEqual(c["loss"] as? Double ?? .nan, json["loss"] as? Double ?? .nan, accuracy: 1e-6)
        XCTAssertEqual(c["gemm_flops"] as? Double ?? .nan, (json["gemm_flops"] as? Double ?? .nan) * 4 / 3, accuracy: 1e-3)
        let (bad, _, stderr) = try run(["bench", "mlp-sde", "--every", "0"])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(stderr.contains("--every must be positive, got 0"), stderr)
    }

    func testToyJSON() throws {
        let (status, stdout, _) = try run(["toy", "--sigma", "1", "--t-end", "1", "--paths", "50", "--steps", "20",
                                           "--seed", "3", "--json"])
        XCTAssertEqual(status, 0)
        let json = try object(stdout)
        for key in ["mean_log_abs", "stderr", "exact_mean_log_abs", "theory"] { XCTAssertNotNil(json[key], "missing \(key)") }
        XCTAssertEqual(json["theory"] as? Double ?? .nan, 0.5, accuracy: 1e-6)
    }

    func testBadOptionIsAClearError() throws {
        let (status, stdout, stderr) = try run(["bench", "train-step", "--model", "resnet"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty)
        XCTAssertTrue(stderr.contains("The value 'resnet' is invalid for '--model <model>'. Please provide one of 'paper-small' and 'paper-big'."),
                      stderr)
    }
}

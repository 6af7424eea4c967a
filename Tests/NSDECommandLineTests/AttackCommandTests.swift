import Foundation
import NSDETestSupport
import XCTest
@testable import NSDETraining

/// `nsde attack` and `nsde perturb` as processes, on a checkpoint trained for one epoch on a tiny
/// synthetic MNIST-layout dataset: the `--json` contracts, the output files, and error messages.
final class AttackCommandTests: XCTestCase {
    var directory: URL!
    var checkpoint: String { directory.appendingPathComponent("run").path }
    var data: String { directory.appendingPathComponent("data").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-attack-cli-\(UUID().uuidString)")
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 64, test: 8)
        let trained = try NSDEExecutable.run(["train", "--dataset", "mnist", "--data-dir", data, "--width", "4", "--steps", "2",
                                              "--noise", "additive", "--sigma", "0.3", "--stages", "1", "--batch-size", "16",
                                              "--crop-padding", "0", "--seed", "3", "--threads", "1", "--out", checkpoint, "--json"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    static let topKeys: Set<String> = ["norm", "steps", "method", "step_size", "random_start", "epsilons", "n", "dataset", "seed",
                                       "ttn_samples", "models", "results", "files", "threads"]
    static let modelKeys: Set<String> = ["checkpoint", "name", "noise", "sigma", "test_sigma", "eot_samples", "ttn_samples",
                                         "results", "seconds"]
    static let pointKeys: Set<String> = ["eps", "accuracy", "accuracy_ttn", "accuracy_no_eot", "accuracy_ttn_no_eot", "mean_norm",
                                         "mean_norm_no_eot"]

    /// `nsde attack --checkpoint DIR --dataset mnist --norm l2 --eps LIST --steps N --eot K --json`:
    /// one JSON object with the contract keys, one result per ε, the no-EOT attack for the noisy
    /// model, accuracies in [0, 1]; --out writes the three files.
    func testAttackJSONContract() throws {
        let out = directory.appendingPathComponent("attack").path
        let run = try NSDEExecutable.run(["attack", "--checkpoint", checkpoint, "--dataset", "mnist", "--data-dir", data,
                                          "--norm", "l2", "--eps", "0,0.5,1.0", "--steps", "2", "--eot", "2", "--test-subset", "4",
                                          "--ttn", "2", "--threads", "1", "--out", out, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertEqual(Set(json.keys), Self.topKeys)
        XCTAssertEqual(json["norm"] as? String, "l2")
        XCTAssertEqual(json["method"] as? String, "adam")
        XCTAssertEqual(json["steps"] as? Int, 2)
        XCTAssertEqual(json["n"] as? Int, 4)
        XCTAssertEqual(json["epsilons"] as? [Double], [0, 0.5, 1])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(models.count, 1)
        XCTAssertEqual(Set(models[0].keys), Self.modelKeys)
        XCTAssertEqual(models[0]["noise"] as? String, "additive")
        XCTAssertEqual(models[0]["eot_samples"] as? Int, 2)
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 3)
        for point in results {
            XCTAssertEqual(Set(point.keys), Self.pointKeys)
            for key in ["accuracy", "accuracy_ttn", "accuracy_no_eot", "accuracy_ttn_no_eot"] {
                let value = try XCTUnwrap(point[key] as? Double, key)
                XCTAssertTrue((0...1).contains(value), "\(key) = \(value)")
            }
        }
        XCTAssertEqual(results[0]["mean_norm"] as? Double, 0)
        XCTAssertLessThanOrEqual(try XCTUnwrap(results[2]["mean_norm"] as? Double), 1 + 1e-5)
        for name in ["attack.csv", "attack.json", "attack.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), name)
        }
        XCTAssertEqual(try String(contentsOfFile: out + "/attack.csv", encoding: .utf8).split(separator: "\n").count, 4)
    }

    /// Bad --norm, a negative ε and a missing checkpoint are usage errors naming what is wrong.
    func testAttackErrorsNameTheProblem() throws {
        let base = ["attack", "--checkpoint", checkpoint, "--steps", "1", "--test-subset", "2"]
        let badNorm = try NSDEExecutable.run(base + ["--norm", "l3", "--json"])
        XCTAssertNotEqual(badNorm.status, 0)
        XCTAssertTrue(badNorm.stderr.contains("The value 'l3' is invalid for '--norm <norm>'. Please provide one of 'l2' and 'linf'."),
                      badNorm.stderr)
        XCTAssertEqual(badNorm.stdout, "")
        let negative = try NSDEExecutable.run(base + ["--eps", "0,-0.5"])
        XCTAssertNotEqual(negative.status, 0)
        XCTAssertTrue(negative.stderr.contains("--eps values must be >= 0, got -0.5"), negative.stderr)
        let missing = directory.appendingPathComponent("nowhere").path
        let absent = try NSDEExecutable.run(["attack", "--checkpoint", missing])
        XCTAssertNotEqual(absent.status, 0)
        XCTAssertTrue(absent.stderr.contains(missing), absent.stderr)
    }

    /// `nsde perturb --json`: per-model t (51 values), relative_distance and its std; the CSV has
    /// 51 rows per model; the files are written.
    func testPerturbJSONContract() throws {
        let out = directory.appendingPathComponent("perturb").path
        let run = try NSDEExecutable.run(["perturb", "--checkpoint", checkpoint, "--eps", "0.5", "--images", "2", "--draws", "2",
                                          "--attack-steps", "2", "--eot", "2", "--threads", "1", "--out", out, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertEqual(Set(json.keys), ["eps", "images", "draws", "attack_steps", "dataset", "seed", "models", "files", "threads"])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(Set(models[0].keys), ["checkpoint", "name", "noise", "sigma", "test_sigma", "eot_samples", "draws", "t",
                                             "relative_distance", "relative_distance_std", "mean_attack_norm"])
        XCTAssertEqual((models[0]["t"] as? [Double])?.count, 51)
        XCTAssertEqual((models[0]["relative_distance"] as? [Double])?.count, 51)
        XCTAssertEqual((models[0]["relative_distance_std"] as? [Double])?.count, 51)
        XCTAssertEqual(try String(contentsOfFile: out + "/perturb.csv", encoding: .utf8).split(separator: "\n").count, 52)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/perturb.svg"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/perturb.json"))
    }
}

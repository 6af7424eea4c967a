import Foundation
import NSDEModels
import NSDETestSupport
import XCTest
@testable import NSDETraining
@testable import NSDERobustness

/// `nsde eval-corrupt` as a process, on a tiny checkpoint trained in-process on synthetic
/// MNIST-layout data: the JSON contract, the four files, and the error messages.
final class EvalCorruptCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-eval-corrupt-cli-\(UUID().uuidString)")
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 32, test: 12)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A one-epoch width-4 checkpoint in `directory/name`.
    func checkpoint(_ name: String, noise: BlockNoise, sigma: Float) throws -> String {
        let configuration = TrainingConfiguration(
            dataset: "mnist", model: ModelConfiguration(inChannels: 1, classes: 10, width: 4, noise: noise, sigma: sigma, steps: 2),
            optimizer: .sgd(learningRate: 0.05), schedule: .staged(stages: [1]), epochs: 1, batchSize: 8, cropPadding: 1,
            testSubset: 0, evaluationBatchSize: 16, seed: 2, dataDirectory: directory.appendingPathComponent("data").path)
        let out = directory.appendingPathComponent(name)
        _ = try train(configuration, outputDirectory: out)
        return out.path
    }

    func testJSONAndFiles() throws {
        _ = try NSDEExecutable.require()
        let ode = try checkpoint("ode", noise: .ode, sigma: 0), sde = try checkpoint("sde", noise: .dropout, sigma: 0.4)
        let out = directory.appendingPathComponent("out")
        let run = try NSDEExecutable.run(["eval-corrupt", "--checkpoint", ode, "--checkpoint", sde,
                                          "--corruptions", "gaussian_noise,fog", "--severities", "1,4", "--ttn", "2",
                                          "--batch-size", "5", "--seed", "3", "--threads", "1", "--out", out.path, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertEqual(json["dataset"] as? String, "mnist")
        XCTAssertEqual(json["corruptions"] as? [String], ["gaussian_noise", "fog"])
        XCTAssertEqual(json["severities"] as? [Int], [1, 4])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["label"] as? String }, ["ODE", "dropout σ=0.4"])
        XCTAssertEqual(models.map { $0["checkpoint"] as? String }, [ode, sde])
        XCTAssertEqual(models[1]["noise"] as? String, "dropout")
        XCTAssertEqual((models[1]["sigma"] as? Double) ?? 0, 0.4, accuracy: 1e-6)
        XCTAssertEqual((models[1]["test_sigma"] as? Double) ?? 0, 0.4, accuracy: 1e-6)
        for model in models {
            let clean = try XCTUnwrap(model["clean"] as? [String: Any])
            XCTAssertEqual(clean["n"] as? Int, 12)
            XCTAssertNotNil(clean["accuracy"] as? Double)
            XCTAssertNotNil(clean["accuracy_ttn"] as? Double)
            let mean = try XCTUnwrap(model["mean"] as? [String: Any])
            XCTAssertNotNil(mean["accuracy"] as? Double)
            let results = try XCTUnwrap(model["results"] as? [[String: Any]])
            XCTAssertEqual(results.map { $0["corruption"] as? String }, ["gaussian_noise", "gaussian_noise", "fog", "fog"])
            XCTAssertEqual(results.map { $0["severity"] as? Int }, [1, 4, 1, 4])
            XCTAssertEqual(results.map { $0["n"] as? Int }, [12, 12, 12, 12])
        }
        // stdout is corruption.json; the other three files exist and hold the table and rows.
        let files = CorruptionReport.fileNames.map { out.appendingPathComponent($0) }
        XCTAssertEqual(try Data(contentsOf: files[2]) + Data("\n".utf8), Data(run.stdout.utf8))
        XCTAssertTrue(try String(contentsOf: files[0], encoding: .utf8).contains("| dropout σ=0.4 + TTN (K=2) |"))
        XCTAssertEqual(try String(contentsOf: files[1], encoding: .utf8).split(separator: "\n").count, 1 + 2 * 4)
        XCTAssertNil(XMLCheck.parse(try String(contentsOf: files[3], encoding: .utf8)).error)

        // Human mode prints the Markdown table; the same seed gives the same numbers.
        let human = try NSDEExecutable.run(["eval-corrupt", "--checkpoint", ode, "--checkpoint", sde,
                                            "--corruptions", "gaussian_noise,fog", "--severities", "1,4", "--ttn", "2",
                                            "--batch-size", "5", "--seed", "3", "--threads", "1", "--out", out.path])
        XCTAssertEqual(human.status, 0, human.stderr)
        XCTAssertEqual(human.stdout, try String(contentsOf: files[0], encoding: .utf8))
        XCTAssertTrue(human.stdout.contains("| Model | Clean | Level 1 | Level 4 | Mean |"), human.stdout)
        XCTAssertEqual(try Data(contentsOf: files[1]), try Data(contentsOf: files[1]))
    }

    /// With --cifar10c-dir the sets are read from the directory; without CIFAR-10 files the clean
    /// accuracy is reported as null, with a note on stderr.
    func testReadsCIFAR10CDirectory() throws {
        _ = try NSDEExecutable.require()
        let rgb = SyntheticImages.cifarShaped(count: 8)
        let configuration = TrainingConfiguration(
            dataset: "cifar10", model: ModelConfiguration(inChannels: 3, classes: 10, width: 4, noise: .dropout, sigma: 0.4, steps: 2),
            optimizer: .sgd(learningRate: 0.05), schedule: .staged(stages: [1]), epochs: 1, batchSize: 4, cropPadding: 1,
            testSubset: 0, evaluationBatchSize: 8, seed: 2, dataDirectory: directory.appendingPathComponent("no-cifar").path)
        let model = directory.appendingPathComponent("rgb")
        _ = try Trainer(configuration: configuration, trainSet: rgb, testSet: rgb, outputDirectory: model).run()
        let c10c = directory.appendingPathComponent("c10c")
        try CIFAR10CWriter.write(SyntheticImages.nhwc(rgb), labels: rgb.labels, corruptions: [Contrast(), Snow()],
                                 seed: 4, to: c10c)
        let run = try NSDEExecutable.run(["eval-corrupt", "--checkpoint", model.path, "--cifar10c-dir", c10c.path,
                                          "--corruptions", "snow,contrast", "--severities", "2", "--test-subset", "5", "--ttn", "2",
                                          "--threads", "1", "--out", directory.appendingPathComponent("out").path, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("note: clean accuracy not reported"), run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertEqual(json["source"] as? String, "cifar10c")
        XCTAssertEqual(json["cifar10c_directory"] as? String, c10c.path)
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertTrue(models[0]["clean"] is NSNull)
        let results = try XCTUnwrap(models[0]["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { $0["corruption"] as? String }, ["snow", "contrast"])
        XCTAssertEqual(results.map { $0["n"] as? Int }, [5, 5])
    }

    func testErrorsNameTheProblem() throws {
        _ = try NSDEExecutable.require()
        let sde = try checkpoint("sde", noise: .dropout, sigma: 0.4)
        let unknown = try NSDEExecutable.run(["eval-corrupt", "--checkpoint", sde, "--corruptions", "fog,nope"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("--corruptions: unknown corruption 'nope' (valid: gaussian_noise, shot_noise, impulse_noise,"),
                      unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("jpeg_compression, or all)"), unknown.stderr)
        XCTAssertTrue(unknown.stdout.isEmpty)
        let severity = try NSDEExecutable.run(["eval-corrupt", "--checkpoint", sde, "--severities", "1,6"])
        XCTAssertNotEqual(severity.status, 0)
        XCTAssertTrue(severity.stderr.contains("--severities: severity must be 1...5, got '6'"), severity.stderr)
        let absent = directory.appendingPathComponent("absent").path
        let missing = try NSDEExecutable.run(["eval-corrupt", "--checkpoint", absent])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("--checkpoint \(absent): no checkpoint found"), missing.stderr)
        let c10c = directory.appendingPathComponent("c10c")
        try FileManager.default.createDirectory(at: c10c, withIntermediateDirectories: true)
        let noFile = try NSDEExecutable.run(["eval-corrupt", "--checkpoint", sde, "--cifar10c-dir", c10c.path,
                                             "--out", directory.appendingPathComponent("o").path])
        XCTAssertNotEqual(noFile.status, 0)
        XCTAssertTrue(noFile.stderr.contains(c10c.appendingPathComponent("labels.npy").path + ": file not found; CIFAR-10-C expects"),
                      noFile.stderr)
    }
}

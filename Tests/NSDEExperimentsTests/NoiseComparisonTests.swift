import Foundation
import NSDEData
import NSDEModels
import NSDETestSupport
import XCTest
@testable import NSDETraining
@testable import NSDEExperiments

/// The Table 1 experiment (`runNoiseComparison`, `nsde experiment table1`, `nsde demo`) on a tiny
/// synthetic MNIST-layout dataset.
final class NoiseComparisonTests: XCTestCase {
    var directory: URL!
    var dataDirectory: URL { directory.appendingPathComponent("data") }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-table1-\(UUID().uuidString)")
        try SyntheticImages.writeMNISTLayout(to: dataDirectory, train: 256, test: 64)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func configuration(models: [NoiseSetting] = [.paperDefault(.ode), NoiseSetting(noise: .dropout, sigma: 0.4)],
                       epochs: Int = 2) -> NoiseComparisonConfiguration {
        var c = ComparisonPreset.quick.configuration(dataset: .mnist)
        c.training.model.width = 4
        c.training.model.steps = 2
        c.training.schedule = .staged(stages: [epochs])
        c.training.epochs = epochs
        c.training.batchSize = 32
        c.training.cropPadding = 1
        c.training.trainSubset = nil
        c.training.testSubset = 48
        c.training.seed = 5
        c.models = models
        c.ttnSamples = 3
        return c
    }

    func testPresetsStateTheirBudgets() {
        let quick = ComparisonPreset.quick.configuration(dataset: .fashionMNIST)
        XCTAssertEqual(quick.models.map(\.noise), [.ode, .additive, .multiplicative, .dropout])
        XCTAssertEqual(quick.models.map(\.sigma), [0, 0.7, 1.0, 0.5])
        let paper = ComparisonPreset.paper.configuration(dataset: .cifar10)
        XCTAssertEqual(paper.training.model.width, 64)
        XCTAssertEqual(paper.training.schedule, .staged(stages: [40, 40, 20, 20]))
        XCTAssertEqual(paper.training.batchSize, 128)
        XCTAssertEqual(paper.training.cropPadding, 4)
        XCTAssertFalse(paper.training.horizontalFlip)
        XCTAssertNil(paper.training.trainSubset)
        XCTAssertEqual(paper.ttnSamples, 100)
        XCTAssertEqual(ComparisonPreset.paper.configuration(dataset: .stl10).training.model.architecture, .paperBig)
        XCTAssertEqual(ComparisonPreset.demo.configuration(dataset: .fashionMNIST).models.map(\.noise), [.ode, .dropout])
        XCTAssertTrue(quick.budgetDescription.contains("width 16"), quick.budgetDescription)
    }

    func testNoiseSettingParsing() throws {
        XCTAssertEqual(try NoiseSetting(parsing: "dropout:0.7"), NoiseSetting(noise: .dropout, sigma: 0.7))
        XCTAssertEqual(try NoiseSetting(parsing: "additive"), NoiseSetting(noise: .additive, sigma: 0.7))
        XCTAssertEqual(try NoiseSetting(parsing: "ode:3").sigma, 0)
        for bad in ["brownian", "dropout:x", "dropout:-1", "dropout:0.5:1", ""] {
            XCTAssertThrowsError(try NoiseSetting(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("invalid model"), "\(error)")
            }
        }
        var c = configuration(models: [.paperDefault(.dropout), .paperDefault(.dropout)])
        XCTAssertThrowsError(try c.validate())
        c.models = []
        XCTAssertThrowsError(try c.validate())
    }

    func testRunTrainsEveryModelWritesReportsAndResumes() throws {
        let out = directory.appendingPathComponent("out")
        let config = configuration()
        var started: [Int] = []
        let result = try runNoiseComparison(config, dataDirectory: dataDirectory.path, outputDirectory: out) { event in
            if case let .modelStarted(_, _, _, _, after) = event { started.append(after) }
        }
        XCTAssertEqual(started, [0, 0])
        XCTAssertEqual(result.rows.map(\.setting.noise), [.ode, .dropout])
        for row in result.rows {
            XCTAssertEqual(row.history.count, 2)
            XCTAssertEqual(row.evaluation.count, 48)
            XCTAssertEqual(row.evaluation.ttnSamples, 3)
            XCTAssertTrue(Checkpoint.exists(in: row.runDirectory!))
        }
        // The ODE draws no noise: its TTN result is its plain one.
        XCTAssertEqual(result.rows[0].evaluation.ttn, result.rows[0].evaluation.plain)
        // Same seed and budget: identical parameter counts, different weights only through the noise.
        XCTAssertEqual(result.rows[0].parameters, result.rows[1].parameters)

        let files = try result.write(to: out)
        XCTAssertEqual(files.map(\.lastPathComponent), ["table1.md", "table1.csv", "table1.json", "curves.svg"])
        let markdown = try String(contentsOf: files[0], encoding: .utf8)
        XCTAssertTrue(markdown.contains("| Data | Model size | ODE w/o TTN | Dropout (σ 0.4) w/o TTN | Dropout (σ 0.4) w/ TTN |"), markdown)
        let csv = try String(contentsOf: files[1], encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 3)
        XCTAssertTrue(csv[0].hasPrefix("dataset,noise,sigma,parameters,n,accuracy"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: files[2])) as? [String: Any])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(models.count, 2)
        for key in ["noise", "sigma", "parameters", "n", "accuracy", "ci95", "accuracy_ttn", "ci95_ttn", "history", "run"] {
            XCTAssertTrue(models[1].keys.contains(key), key)
        }
        XCTAssertEqual(models[1]["accuracy"] as? Double, result.rows[1].evaluation.plain.accuracy)
        let svg = XMLCheck.parse(try String(contentsOf: files[3], encoding: .utf8))
        XCTAssertNil(svg.error)
        XCTAssertTrue(svg.texts.contains("ODE"), "\(svg.texts)")

        // Run again: both models are complete, so nothing is retrained and the numbers repeat.
        started = []
        let again = try runNoiseComparison(config, dataDirectory: dataDirectory.path, outputDirectory: out) { event in
            if case let .modelStarted(_, _, _, _, after) = event { started.append(after) }
        }
        XCTAssertEqual(started, [2, 2])
        XCTAssertEqual(again.rows.map(\.evaluation.plain), result.rows.map(\.evaluation.plain))
        XCTAssertEqual(again.rows.map(\.evaluation.ttn), result.rows.map(\.evaluation.ttn))
        XCTAssertEqual(again.rows.map(\.history), result.rows.map(\.history))

        // A different budget in the same directory is refused, not overwritten.
        var other = config
        other.training.batchSize = 16
        XCTAssertThrowsError(try runNoiseComparison(other, dataDirectory: dataDirectory.path, outputDirectory: out)) { error in
            guard case TrainingError.configurationMismatch(_, let differences) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(differences.contains { $0.contains("batch_size") }, "\(differences)")
        }
    }

    func testExperimentCommandJSONAndErrors() throws {
        let out = directory.appendingPathComponent("cli")
        let run = try NSDEExecutable.run([
            "experiment", "table1", "--dataset", "mnist", "--data-dir", dataDirectory.path, "--models", "ode,additive:0.3",
            "--width", "4", "--steps", "2", "--stages", "1", "--train-subset", "128", "--test-subset", "32", "--batch-size", "32",
            "--ttn", "2", "--threads", "1", "--out", out.path, "--json",
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertEqual(json["preset"] as? String, "quick+overrides")
        XCTAssertEqual(json["ttn_samples"] as? Int, 2)
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(models.compactMap { $0["noise"] as? String }, ["ode", "additive"])
        XCTAssertEqual(models[1]["sigma"] as? Double, 0.3)
        for name in ["table1.md", "table1.csv", "table1.json", "curves.svg", "ode/checkpoint.json", "additive-0.3/checkpoint.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }

        for (arguments, message) in [
            (["experiment", "table1", "--preset", "huge"],
             "The value 'huge' is invalid for '--preset <preset>'. Please provide one of 'quick', 'overfit', 'more-data' or 'paper'."),
            (["experiment", "table1", "--gn-groups", "0"], "--gn-groups must be a positive integer"),
            (["experiment", "table1", "--shard", "3/2"], "--shard must be I/N"),
            (["experiment", "sigma-search", "--sigmas", "0.1,-1"], "--sigmas must be comma-separated numbers > 0"),
            (["experiment", "sigma-search", "--noises", "ode"], "--noises must be distinct names"),
            (["experiment", "sigma-search", "--models", "ode"], "--models does not apply to sigma-search"),
            (["experiment", "table1", "--models", "ode,brownian"], "--models"),
            (["experiment", "table1", "--stages", "4,x"], "--stages"),
            (["demo", "--width", "0"], "--width must be a positive integer"),
        ] {
            let failed = try NSDEExecutable.run(arguments)
            XCTAssertNotEqual(failed.status, 0, "\(arguments)")
            XCTAssertTrue(failed.stderr.contains(message), "\(arguments): \(failed.stderr)")
        }
    }
}

/// `nsde experiment robustness` end to end on tiny settings: it trains the two models into
/// --runs, writes every report, and a second run reuses the models.
final class RobustnessExperimentCommandTests: XCTestCase {
    func testRobustnessExperimentWritesEveryReportAndReusesModels() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-robustness-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        try SyntheticImages.writeMNISTLayout(to: data, train: 128, test: 32)
        let out = directory.appendingPathComponent("out")
        let arguments = [
            "experiment", "robustness", "--dataset", "mnist", "--data-dir", data.path, "--width", "4", "--steps", "2",
            "--stages", "1", "--batch-size", "32", "--test-subset", "16", "--corruption-images", "4",
            "--corruptions", "gaussian_noise,contrast", "--eps", "0,1", "--attack-images", "4", "--attack-steps", "2", "--eot", "2",
            "--perturb-images", "2", "--draws", "2", "--ttn", "2", "--threads", "1",
            "--runs", directory.appendingPathComponent("models").path, "--out", out.path, "--json",
        ]
        let run = try NSDEExecutable.run(arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertEqual(json["preset"] as? String, "quick+overrides")
        for key in ["models", "corruption", "attack", "perturbation", "files"] { XCTAssertNotNil(json[key], key) }
        let attack = try XCTUnwrap(json["attack"] as? [[String: Any]])
        XCTAssertEqual(attack.count, 2)
        let dropoutPoints = try XCTUnwrap(attack[1]["results"] as? [[String: Any]])
        XCTAssertEqual(dropoutPoints.count, 2)
        XCTAssertNotNil(dropoutPoints[1]["accuracy_no_eot"] as? Double, "the SDE reports the attack without EOT too")
        let perturbation = try XCTUnwrap(json["perturbation"] as? [[String: Any]])
        XCTAssertEqual((perturbation[0]["t"] as? [Double])?.count, 51)
        for name in ["robustness.md", "corruption.md", "corruption.csv", "corruption.json", "corruption.svg", "attack.csv",
                     "attack.json", "attack.svg", "perturb.csv", "perturb.svg", "models.md", "curves.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        let corruptionCSV = try String(contentsOf: out.appendingPathComponent("corruption.csv"), encoding: .utf8)
        XCTAssertEqual(corruptionCSV.split(separator: "\n").count, 1 + 2 * 2 * 5)
        XCTAssertTrue(corruptionCSV.contains(",4\n"), "4 images per corrupted set")

        // Again: the models are complete, so they are only evaluated, and the numbers repeat.
        let again = try NSDEExecutable.run(arguments)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("resuming after epoch 1"), again.stderr)
        let second = try NSDEExecutable.object(again.stdout)
        XCTAssertEqual((second["attack"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual(second["corruption"] as? NSArray, json["corruption"] as? NSArray)
    }
}

import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDETraining
@testable import NSDEExperiments

/// Validation splits, GroupNorm groups, seeds with paired statistics, shards and the σ search,
/// on a tiny synthetic MNIST-layout dataset.
final class SeedComparisonTests: XCTestCase {
    var directory: URL!
    var dataDirectory: URL { directory.appendingPathComponent("data") }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-seeds-\(UUID().uuidString)")
        try SyntheticImages.writeMNISTLayout(to: dataDirectory, train: 256, test: 64)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func configuration(seeds: Int = 2) -> NoiseComparisonConfiguration {
        var c = ComparisonPreset.overfit.configuration(dataset: .mnist)
        c.training.model.width = 4
        c.training.model.groupNormGroups = 2
        c.training.model.steps = 2
        c.training.schedule = .staged(stages: [2])
        c.training.epochs = 2
        c.training.evaluationInterval = 2
        c.training.batchSize = 32
        c.training.cropPadding = 1
        c.training.trainSubset = 96
        c.training.validationSize = 40
        c.training.testSubset = 48
        c.models = [.paperDefault(.ode), NoiseSetting(noise: .dropout, sigma: 0.4)]
        c.ttnSamples = 2
        c.trainEvaluationSize = 50
        c.seeds = NoiseComparisonConfiguration.seeds(seeds, from: 3)
        return c
    }

    func testSplitIsDisjointSeededAndComplete() {
        let pixels = (0..<20).flatMap { i in [UInt8](repeating: UInt8(i), count: 4) }
        let data = InMemoryImageDataset(pixels: pixels, labels: (0..<20).map { $0 % 2 }, imageShape: [1, 2, 2], classes: ["a", "b"])
        let (rest, held) = data.split(holdingOut: 6, seed: 9)
        XCTAssertEqual(held.count, 6)
        XCTAssertEqual(rest.count, 14)
        let heldIDs = Set(held.pixels.enumerated().filter { $0.offset % 4 == 0 }.map(\.element))
        let restIDs = Set(rest.pixels.enumerated().filter { $0.offset % 4 == 0 }.map(\.element))
        XCTAssertTrue(heldIDs.isDisjoint(with: restIDs))
        XCTAssertEqual(heldIDs.union(restIDs).count, 20)
        XCTAssertEqual(data.split(holdingOut: 6, seed: 9).heldOut.pixels, held.pixels, "same seed, same split")
        XCTAssertNotEqual(data.split(holdingOut: 6, seed: 10).heldOut.pixels, held.pixels, "another seed, another split")
    }

    func testTrainerHoldsOutValidationAndRecordsIt() throws {
        var c = configuration().training(for: .paperDefault(.ode), seed: 3)
        c.dataDirectory = dataDirectory.path
        let (train, test) = try TrainingData.load(c)
        let out = directory.appendingPathComponent("run")
        let trainer = try Trainer(configuration: c, trainSet: train, testSet: test, outputDirectory: out)
        let validation = try XCTUnwrap(trainer.validationSet)
        XCTAssertEqual(validation.count, 40)
        XCTAssertEqual(trainer.trainSet.count, 96)
        // No training image is a validation image (the synthetic images are all distinct).
        func images(_ d: InMemoryImageDataset) -> Set<[UInt8]> { Set((0..<d.count).map { Array(d.pixels(at: $0)) }) }
        XCTAssertEqual(images(train).count, train.count, "the synthetic images are distinct")
        XCTAssertTrue(images(trainer.trainSet).isDisjoint(with: images(validation)))
        _ = try trainer.run()
        let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let last = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        XCTAssertTrue(first["val_acc"] is NSNull, "epoch 1 is not evaluated with eval_every 2")
        XCTAssertNotNil(last["val_acc"] as? Double)
        XCTAssertEqual(last["val_examples"] as? Int, 40)
        // The configuration records val_size and gn_groups, and resumes.
        let state = try Checkpoint.readState(from: out)
        XCTAssertEqual(state.configuration.validationSize, 40)
        XCTAssertEqual(state.configuration.model.groupNormGroups, 2)
        // Another seed holds out other images.
        var other = c
        other.seed = 4
        let otherTrainer = try Trainer(configuration: other, trainSet: train, testSet: test)
        XCTAssertNotEqual(images(try XCTUnwrap(otherTrainer.validationSet)), images(validation))
    }

    func testGroupNormGroupsAreAModelOptionWithUnchangedParameterCounts() throws {
        let paper = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 16)
        let eight = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 16, groupNormGroups: 8)
        XCTAssertEqual(paper.groupNormGroups, 16)
        XCTAssertEqual(eight.groupNormGroups, 8)
        XCTAssertEqual(eight.drift.norm1.groups, 8)
        XCTAssertEqual(eight.headNorm.groups, 8)
        XCTAssertEqual(paper.parameterCount, eight.parameterCount)
        XCTAssertEqual(PaperClassifier(architecture: .paperSmall, inChannels: 3, classes: 10, groupNormGroups: 16).parameterCount, 115_594)
        // GroupNorm with 8 groups differs from 16 on the same weights.
        Initializer.manualSeed(1)
        let a = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 16, steps: 2)
        Initializer.manualSeed(1)
        let b = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 16, steps: 2, groupNormGroups: 8)
        let x = Tensor.randomUniform([2, 1, 8, 8], seed: 2)
        XCTAssertNotEqual(a(x).scalars, b(x).scalars)

        // Configurations: gn_groups is stored when set, absent (as before the option) when not.
        var model = ModelConfiguration(inChannels: 1, width: 16, groupNormGroups: 8)
        let data = try JSONEncoder().encode(model)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"gn_groups\":8"))
        XCTAssertEqual(try JSONDecoder().decode(ModelConfiguration.self, from: data), model)
        model.groupNormGroups = nil
        let legacy = try JSONEncoder().encode(model)
        XCTAssertFalse(String(decoding: legacy, as: UTF8.self).contains("gn_groups"))
        XCTAssertNil(try JSONDecoder().decode(ModelConfiguration.self, from: legacy).groupNormGroups)
        for bad in [0, 3, 32] {
            XCTAssertThrowsError(try ModelConfiguration(inChannels: 1, width: 16, groupNormGroups: bad).validate(), "\(bad)") { error in
                XCTAssertTrue("\(error)".contains("gn_groups"), "\(error)")
            }
        }
    }

    func testSeedsGivePairedStatisticsAndTheJSONContract() throws {
        let out = directory.appendingPathComponent("out")
        let config = configuration(seeds: 2)
        let result = try runNoiseComparison(config, dataDirectory: dataDirectory.path, outputDirectory: out)
        XCTAssertEqual(result.rows.map(\.seed), [3, 4, 3, 4])
        XCTAssertEqual(result.rows.map { result.relativeRunPath($0.runDirectory!) },
                       ["ode/seed-3", "ode/seed-4", "dropout-0.4/seed-3", "dropout-0.4/seed-4"])
        // Runs of one seed share the initial weights; different seeds do not.
        let odeA = result.rows[0].stateDict, odeB = result.rows[1].stateDict
        XCTAssertNotEqual(odeA["fc.weight"]?.scalars, odeB["fc.weight"]?.scalars)
        for row in result.rows {
            XCTAssertEqual(row.evaluation.count, 48)
            XCTAssertEqual(row.validation?.count, 40)
            XCTAssertEqual(row.trainEvaluation?.count, 50)
            XCTAssertEqual(row.labels.count, 48)
        }
        let dropout = try XCTUnwrap(result.summaries.last)
        let d = try XCTUnwrap(dropout.differenceToODE)
        XCTAssertEqual(d.differences[0], result.rows[2].evaluation.accuracy - result.rows[0].evaluation.accuracy, accuracy: 1e-12)
        XCTAssertEqual(d.differences[1], result.rows[3].evaluation.accuracy - result.rows[1].evaluation.accuracy, accuracy: 1e-12)

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: try result.jsonData(pretty: false)) as? [String: Any])
        XCTAssertEqual(json["seeds"] as? [Int], [3, 4])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(models.count, 2)
        for key in ["noise", "sigma", "seeds", "accuracy_mean", "accuracy_sd", "accuracy_ttn_mean", "train_accuracy_mean",
                    "diff_vs_ode_mean", "diff_vs_ode_ci95", "per_seed", "accuracy", "ci95", "run", "history"] {
            XCTAssertTrue(models[1].keys.contains(key), key)
        }
        XCTAssertEqual(models[1]["seeds"] as? Int, 2)
        let mean = (result.rows[2].evaluation.accuracy + result.rows[3].evaluation.accuracy) / 2
        XCTAssertEqual(try XCTUnwrap(models[1]["accuracy_mean"] as? Double), 100 * mean, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(models[1]["diff_vs_ode_mean"] as? Double), 100 * d.mean, accuracy: 1e-9)
        let ci = try XCTUnwrap(models[1]["diff_vs_ode_ci95"] as? [Double])
        XCTAssertEqual(ci.count, 2)
        XCTAssertEqual(ci[0], 100 * d.interval95!.lower, accuracy: 1e-9)
        XCTAssertTrue(models[0]["diff_vs_ode_ci95"] is NSNull, "the ODE has no difference to itself")
        let perSeed = try XCTUnwrap(models[1]["per_seed"] as? [[String: Any]])
        XCTAssertEqual(perSeed.compactMap { $0["seed"] as? Int }, [3, 4])
        let markdown = result.markdownTable()
        XCTAssertTrue(markdown.contains("mean ± sd over 2 seeds"), markdown)
        XCTAssertTrue(markdown.contains("Δ vs ODE w/o TTN [95 % CI]"), markdown)
        // Recorded files name runs relative to the output directory.
        let files = try result.write(to: out)
        let recorded = try String(contentsOf: files[2], encoding: .utf8)
        XCTAssertFalse(recorded.contains(out.path), "table1.json carries no absolute run paths")

        // Shards: two shards train disjoint halves; a report afterwards only reads the results (cached).
        let sharded = directory.appendingPathComponent("sharded")
        let first = try runNoiseComparison(config, dataDirectory: dataDirectory.path, outputDirectory: sharded,
                                           shard: ComparisonShard(index: 0, count: 2))
        let second = try runNoiseComparison(config, dataDirectory: dataDirectory.path, outputDirectory: sharded,
                                            shard: ComparisonShard(parsing: "2/2"))
        XCTAssertEqual(first.rows.map(\.seed) + second.rows.map(\.seed), [3, 3, 4, 4])
        var evaluated = 0
        let merged = try runNoiseComparison(config, dataDirectory: dataDirectory.path, outputDirectory: sharded) { event in
            if case .evaluating(done: let done, total: _) = event, done > 0 { evaluated += 1 }
        }
        XCTAssertEqual(evaluated, 0, "complete runs with a cached evaluation are not evaluated again")
        XCTAssertEqual(merged.rows.map(\.evaluation.plain), result.rows.map(\.evaluation.plain), "sharding changes no number")
        XCTAssertNil(ComparisonShard(parsing: "0/2"))
        XCTAssertNil(ComparisonShard(parsing: "3/2"))
    }

    func testSigmaSearchChoosesOnValidationAndTable1ReusesItsRuns() throws {
        let out = directory.appendingPathComponent("search")
        var base = configuration(seeds: 1)
        base.models = []
        let search = SigmaSearchConfiguration(base: base, noises: [.dropout, .additive], sigmas: [0.5, 0.1])
        XCTAssertEqual(search.sigmas, [0.1, 0.5])
        XCTAssertEqual(search.comparison.models.map(\.runName), ["ode", "dropout-0.1", "dropout-0.5", "additive-0.1", "additive-0.5"])
        let result = try runSigmaSearch(search, dataDirectory: dataDirectory.path, outputDirectory: out)
        for row in result.comparison.rows {
            XCTAssertEqual(row.evaluation.count, 40, "evaluated on the validation split")
            XCTAssertNil(row.validation)
        }
        let chosen = result.chosen
        XCTAssertEqual(chosen.map(\.noise), [.dropout, .additive])
        for choice in chosen {
            let grid = result.comparison.summaries.filter { $0.setting.noise == choice.noise }
            let best = grid.map(\.accuracy.mean).max()!
            let first = grid.first { $0.accuracy.mean == best }!
            XCTAssertEqual(choice.sigma, first.setting.sigma, "best validation accuracy, ties to the smaller σ")
        }
        XCTAssertTrue(result.chosenModels.hasPrefix("ode,dropout:"), result.chosenModels)
        let files = try result.write(to: out)
        XCTAssertEqual(files.map(\.lastPathComponent), ["sigma-search.md", "sigma-search.csv", "sigma-search.json", "sigma-search.svg"])
        XCTAssertNil(XMLCheck.parse(try String(contentsOf: files[3], encoding: .utf8)).error)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: files[2])) as? [String: Any])
        XCTAssertEqual((json["grid"] as? [Any])?.count, 5)
        XCTAssertEqual(json["models"] as? String, result.chosenModels)

        // Table 1 with the chosen models in the same directory reuses the trained runs.
        var table = configuration(seeds: 1)
        table.models = try result.chosenModels.split(separator: ",").map { try NoiseSetting(parsing: String($0)) }
        var resumed: [Int] = []
        _ = try runNoiseComparison(table, dataDirectory: dataDirectory.path, outputDirectory: out) { event in
            if case let .modelStarted(_, _, _, _, after) = event { resumed.append(after) }
        }
        XCTAssertEqual(resumed, [2, 2, 2], "every run of Table 1 was already trained by the search")

        var noValidation = base
        noValidation.training.validationSize = nil
        XCTAssertThrowsError(try SigmaSearchConfiguration(base: noValidation, noises: [.dropout], sigmas: [0.1]).validate())
    }

    func testCommandsAcceptTheNewOptions() throws {
        let summary = try NSDEExecutable.run(["model", "summary", "--in-channels", "1", "--width", "16", "--gn-groups", "8", "--json"])
        XCTAssertEqual(summary.status, 0, summary.stderr)
        let json = try NSDEExecutable.object(summary.stdout)
        XCTAssertEqual(json["gn_groups"] as? Int, 8)
        let plain = try NSDEExecutable.object(try NSDEExecutable.run(["model", "summary", "--in-channels", "1", "--width", "16", "--json"]).stdout)
        XCTAssertEqual(plain["gn_groups"] as? Int, 16)
        XCTAssertEqual(json["parameters"] as? Int, plain["parameters"] as? Int)

        let bad = try NSDEExecutable.run(["model", "summary", "--width", "16", "--gn-groups", "3"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--gn-groups must be a positive divisor of the width 16"), bad.stderr)

        let out = directory.appendingPathComponent("train")
        let train = try NSDEExecutable.run([
            "train", "--dataset", "mnist", "--data-dir", dataDirectory.path, "--width", "4", "--gn-groups", "2", "--steps", "2",
            "--stages", "1", "--batch-size", "32", "--train-subset", "64", "--val-size", "30", "--test-subset", "16",
            "--threads", "1", "--out", out.path, "--json",
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        let state = try Checkpoint.readState(from: out)
        XCTAssertEqual(state.configuration.model.groupNormGroups, 2)
        XCTAssertEqual(state.configuration.validationSize, 30)
        XCTAssertEqual(state.history.last?.validationExamples, 30)
        let wrong = try NSDEExecutable.run(["train", "--dataset", "mnist", "--data-dir", dataDirectory.path, "--width", "4",
                                            "--gn-groups", "3", "--out", directory.appendingPathComponent("bad").path])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("gn_groups"), wrong.stderr)

        let demo = try NSDEExecutable.run([
            "demo", "--no-pretrained", "--dataset", "mnist", "--data-dir", dataDirectory.path, "--width", "4", "--steps", "2", "--stages", "1",
            "--train-subset", "64", "--test-subset", "32", "--batch-size", "32", "--ttn", "2", "--threads", "1",
            "--out", directory.appendingPathComponent("demo").path, "--json",
        ])
        XCTAssertEqual(demo.status, 0, demo.stderr)
        let report = try NSDEExecutable.object(demo.stdout)
        for key in ["ode_accuracy", "sde_noise", "sde_sigma", "sde_accuracy", "sde_accuracy_ttn", "test_images", "train_seconds",
                    "diff_vs_ode", "diff_vs_ode_ci95", "verdict"] {
            XCTAssertNotNil(report[key], key)
        }
        XCTAssertEqual(report["test_images"] as? Int, 32)
        XCTAssertEqual(report["sde_noise"] as? String, "dropout")
        let accuracy = try XCTUnwrap(report["ode_accuracy"] as? Double)
        XCTAssertTrue((0...100).contains(accuracy) && accuracy == (accuracy * 32 / 100).rounded() * 100 / 32, "percent of 32 images: \(accuracy)")
        XCTAssertTrue(report["pretrained"] is NSNull)

        // Part 1: saved runs (here two tiny ones) are evaluated, and their numbers lead the JSON.
        let pretrained = directory.appendingPathComponent("pretrained")
        for (noise, name) in [("ode", "ode"), ("additive", "additive-0.2")] {
            let made = try NSDEExecutable.run([
                "train", "--dataset", "mnist", "--data-dir", dataDirectory.path, "--width", "4", "--steps", "2", "--stages", "1",
                "--batch-size", "32", "--train-subset", "64", "--test-subset", "16", "--noise", noise, "--threads", "1",
                "--out", pretrained.appendingPathComponent(name).path,
            ] + (noise == "ode" ? [] : ["--sigma", "0.2"]))
            XCTAssertEqual(made.status, 0, made.stderr)
        }
        let both = try NSDEExecutable.run([
            "demo", "--pretrained", pretrained.path, "--pretrained-test-images", "40", "--dataset", "mnist", "--data-dir",
            dataDirectory.path, "--width", "4", "--steps", "2", "--stages", "1", "--train-subset", "64", "--test-subset", "32",
            "--batch-size", "32", "--ttn", "2", "--threads", "1", "--out", directory.appendingPathComponent("demo2").path, "--json",
        ])
        XCTAssertEqual(both.status, 0, both.stderr)
        let combined = try NSDEExecutable.object(both.stdout)
        XCTAssertEqual(combined["test_images"] as? Int, 40, "the headline is the saved runs' evaluation")
        XCTAssertEqual(combined["sde_noise"] as? String, "additive")
        XCTAssertEqual(combined["pretrained"] as? String, pretrained.path)
        let short = try XCTUnwrap(combined["short_run"] as? [String: Any])
        XCTAssertEqual(short["test_images"] as? Int, 32)
        XCTAssertEqual(short["sde_noise"] as? String, "dropout")

        let empty = directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let none = try NSDEExecutable.run(["demo", "--pretrained", empty.path, "--dataset", "mnist", "--data-dir", dataDirectory.path])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("holds no `nsde train` run directory"), none.stderr)
    }
}

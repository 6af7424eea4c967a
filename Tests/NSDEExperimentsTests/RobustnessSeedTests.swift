import Foundation
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDETraining
@testable import NSDERobustness
@testable import NSDEExperiments

/// The robustness summary over seeds against hand-computed values, its record round trip, and
/// `nsde experiment robustness --seeds 2` end to end (per-seed reports, summary, resume).
final class RobustnessSeedTests: XCTestCase {
    /// One seed: an ODE and a dropout model measured on one corruption at severities 1 and 2 and
    /// attacked at ε 0 and 1, with the given accuracies (fractions) and r(1).
    func seed(_ seed: UInt64, ode: (clean: Double, s1: Double, s2: Double, eps1: Double, r: Double),
              sde: (clean: Double, s1: Double, s2: Double, eps1: Double, r: Double)) -> RobustnessSeedResult {
        func summary(_ a: Double, ttn: Double?) -> AccuracySummary {
            AccuracySummary(count: 100, accuracy: a, accuracyTTN: ttn, ci95: .wilson(successes: Int(a * 100), trials: 100),
                            ci95TTN: ttn.map { .wilson(successes: Int($0 * 100), trials: 100) })
        }
        func corruption(_ m: (clean: Double, s1: Double, s2: Double, eps1: Double, r: Double), noisy: Bool) -> CorruptionEvaluationResult {
            let ttn: (Double) -> Double? = { noisy ? $0 + 0.01 : nil }
            return CorruptionEvaluationResult(
                corruptions: ["fog"], severities: [1, 2],
                cells: [CorruptionCell(corruption: "fog", severity: 1, summary: summary(m.s1, ttn: ttn(m.s1))),
                        CorruptionCell(corruption: "fog", severity: 2, summary: summary(m.s2, ttn: ttn(m.s2)))],
                clean: summary(m.clean, ttn: ttn(m.clean)), testSigma: 0, ttnSamples: noisy ? 4 : 0, ttnIsNoisy: noisy, seed: 0,
                batchSize: 100, cifar10cDirectory: nil, seconds: 1)
        }
        func attack(_ m: (clean: Double, s1: Double, s2: Double, eps1: Double, r: Double), noisy: Bool) -> RobustAccuracyResult {
            RobustAccuracyResult(norm: .l2, method: "pgd", steps: 2, eotSamples: noisy ? 2 : 1, ttnSamples: 2, testSigma: 0, count: 10, seed: 0,
                                 points: [RobustAccuracyPoint(epsilon: 0, accuracy: m.clean, accuracyTTN: noisy ? m.clean : nil, accuracyNoEOT: nil,
                                                              accuracyTTNNoEOT: nil, meanNorm: 0, meanNormNoEOT: nil),
                                          RobustAccuracyPoint(epsilon: 1, accuracy: m.eps1, accuracyTTN: noisy ? m.eps1 : nil, accuracyNoEOT: nil,
                                                              accuracyTTNNoEOT: nil, meanNorm: 0.9, meanNormNoEOT: nil)],
                                 seconds: 1)
        }
        func perturbation(_ r: Double) -> HiddenStatePerturbationResult {
            HiddenStatePerturbationResult(times: [0, 1], meanRelativeDistance: [0.01, r], stdRelativeDistance: [0, 0], images: 2, draws: 2,
                                          testSigma: 0, seed: 0)
        }
        return RobustnessSeedResult(
            seed: seed,
            corruption: CorruptionReport(dataset: "mnist", entries: [
                .init(label: "ODE", checkpoint: nil, noise: "ode", sigma: 0, result: corruption(ode, noisy: false)),
                .init(label: "Dropout (σ 0.3)", checkpoint: nil, noise: "dropout", sigma: 0.3, result: corruption(sde, noisy: true)),
            ]),
            attack: RobustAccuracyFigure(curves: [.init(name: "ODE", result: attack(ode, noisy: false)),
                                                  .init(name: "Dropout (σ 0.3)", result: attack(sde, noisy: true))]),
            perturbation: HiddenStatePerturbationFigure(curves: [.init(name: "ODE", result: perturbation(ode.r)),
                                                                 .init(name: "Dropout (σ 0.3)", result: perturbation(sde.r))], epsilon: 0.5))
    }

    func testSummaryPairsSeedsAgainstHandComputedValues() throws {
        // Corrupted means: ODE 0.70, 0.60, 0.65; SDE 0.75, 0.66, 0.72 → differences 0.05, 0.06, 0.07:
        // mean 0.06, sd 0.01, t(0.975, 2) = 4.302653 → 0.06 ± 4.302653 · 0.01/√3 = 0.06 ± 0.024841.
        let seeds = [
            seed(0, ode: (0.80, 0.72, 0.68, 0.40, 0.20), sde: (0.78, 0.76, 0.74, 0.50, 0.10)),
            seed(1, ode: (0.70, 0.62, 0.58, 0.30, 0.30), sde: (0.70, 0.68, 0.64, 0.36, 0.20)),
            seed(2, ode: (0.75, 0.66, 0.64, 0.35, 0.25), sde: (0.74, 0.73, 0.71, 0.44, 0.05)),
        ]
        let s = RobustnessSeedSummary(seeds: seeds)
        XCTAssertEqual(s.epsilons, [0, 1])
        let ode = s.models[0], sde = s.models[1]
        XCTAssertEqual(ode.seeds, [0, 1, 2])
        XCTAssertEqual(ode.corrupted.mean, 0.65, accuracy: 1e-12)
        XCTAssertEqual(ode.corrupted.standardDeviation, 0.05, accuracy: 1e-12)
        XCTAssertNil(ode.corruptedTTN, "the ODE's TTN draws no noise")
        XCTAssertNil(ode.corruptedVsODE)
        XCTAssertNil(ode.attackTTN)
        XCTAssertEqual(sde.corrupted.mean, (0.75 + 0.66 + 0.72) / 3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(sde.corruptedTTN).mean, (0.75 + 0.66 + 0.72) / 3 + 0.01, accuracy: 1e-12)
        let d = try XCTUnwrap(sde.corruptedVsODE)
        XCTAssertEqual(d.mean, 0.06, accuracy: 1e-12)
        let ci = try XCTUnwrap(d.interval95)
        XCTAssertEqual(ci.lower, 0.06 - 0.024841, accuracy: 1e-5)
        XCTAssertEqual(ci.upper, 0.06 + 0.024841, accuracy: 1e-5)
        XCTAssertEqual(d.verdict, .better)
        // Drops: ODE 0.10, 0.10, 0.10; SDE 0.03, 0.04, 0.02 → differences −0.07, −0.06, −0.08.
        XCTAssertEqual(ode.drop.mean, 0.10, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(sde.dropVsODE).mean, -0.07, accuracy: 1e-12)
        XCTAssertEqual(sde.worstSeverity.mean, (0.74 + 0.64 + 0.71) / 3, accuracy: 1e-12)
        // Attack at ε 1: differences 0.10, 0.06, 0.09.
        let attack = try XCTUnwrap(sde.attackVsODE)
        XCTAssertEqual(attack[1].mean, 0.25 / 3, accuracy: 1e-12)
        XCTAssertEqual(attack[0].mean, -0.01, accuracy: 1e-12)
        // r(1): differences −0.10, −0.10, −0.20: lower is better.
        XCTAssertEqual(try XCTUnwrap(sde.perturbationVsODE).mean, -0.4 / 3, accuracy: 1e-12)

        let markdown = s.markdown()
        XCTAssertTrue(markdown.contains("+6.00 [+3.52, +8.48] better"), markdown)
        XCTAssertTrue(markdown.contains("-7.00 ["), markdown)
        XCTAssertTrue(markdown.contains("Over 3 seeds (0, 1, 2)"), markdown)
        let csv = s.csv().split(separator: "\n")
        XCTAssertEqual(csv.first, "model,noise,seeds,metric,eps,mean,sd,diff_vs_ode,ci_low,ci_high,verdict")
        XCTAssertTrue(csv.contains("Dropout (σ 0.3),dropout,3,drop,,0.030000,0.010000,-0.070000,-0.094841,-0.045159,better"), "\(csv)")
        let data = try JSONEncoder().encode(s.jsonReport())
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let models = try XCTUnwrap(object["models"] as? [[String: Any]])
        let diff = try XCTUnwrap(models[1]["corrupted_diff_vs_ode"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(diff["mean"] as? Double), 6, accuracy: 1e-9, "percent")
        XCTAssertEqual(diff["verdict"] as? String, "better")

        let mean = s.meanAttackFigure(seeds)
        XCTAssertEqual(mean.curves[1].result.points[1].accuracy, (0.50 + 0.36 + 0.44) / 3, accuracy: 1e-12)
    }

    func testRecordRoundTripsAndNeedsItsKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-rseed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = seed(4, ode: (0.8, 0.7, 0.6, 0.4, 0.2), sde: (0.7, 0.7, 0.7, 0.5, 0.1))
        try RobustnessSeedRecord(key: "settings A", result: original).write(to: directory)
        XCTAssertNil(RobustnessSeedRecord.read(from: directory, key: "settings B"), "other settings are measured again")
        let read = try XCTUnwrap(RobustnessSeedRecord.read(from: directory, key: "settings A")).result(dataset: "mnist")
        XCTAssertEqual(read.seed, 4)
        XCTAssertEqual(read.corruption.entries.map(\.result), original.corruption.entries.map(\.result))
        XCTAssertEqual(read.attack.curves.map(\.result), original.attack.curves.map(\.result))
        XCTAssertEqual(read.perturbation.curves.map(\.result), original.perturbation.curves.map(\.result))
        XCTAssertEqual(read.perturbation.epsilon, 0.5)
        try Data("{\"key\": ".utf8).write(to: directory.appendingPathComponent(RobustnessSeedRecord.fileName))
        XCTAssertNil(RobustnessSeedRecord.read(from: directory, key: "settings A"), "a truncated record is ignored")
    }

    func testWeightDigestTellsWeightsApart() {
        let a = ["w": Tensor([1, 2, 3]), "b": Tensor([0])]
        let b = ["w": Tensor([1, 2, 3.0001]), "b": Tensor([0])]
        XCTAssertEqual(weightDigest(a), weightDigest(a))
        XCTAssertNotEqual(weightDigest(a), weightDigest(b))
    }

    func testSeedsCommandWritesPerSeedReportsAndResumes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-robustness-seeds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        try SyntheticImages.writeMNISTLayout(to: data, train: 128, test: 32)
        let out = directory.appendingPathComponent("out")
        let arguments = [
            "experiment", "robustness", "--dataset", "mnist", "--data-dir", data.path, "--width", "4", "--gn-groups", "2", "--steps", "2",
            "--stages", "1", "--batch-size", "32", "--test-subset", "16", "--corruption-images", "4", "--seeds", "2", "--seed", "5",
            "--models", "ode,dropout:0.3", "--corruptions", "fog", "--eps", "0,1", "--attack-images", "4", "--attack-steps", "2",
            "--eot", "2", "--perturb-images", "2", "--draws", "2", "--ttn", "2", "--threads", "1",
            "--runs", directory.appendingPathComponent("models").path, "--out", out.path, "--json",
        ]
        let run = try NSDEExecutable.run(arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertEqual(json["seeds"] as? [Int], [5, 6])
        let summary = try XCTUnwrap(json["summary"] as? [String: Any])
        let models = try XCTUnwrap(summary["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["name"] as? String }, ["ODE", "Dropout (σ 0.3)"])
        XCTAssertNotNil(models[1]["corrupted_diff_vs_ode"] as? [String: Any])
        XCTAssertEqual((json["models"] as? [[String: Any]])?.count, 4, "2 models x 2 seeds")
        for name in ["robustness.md", "seeds.csv", "seeds.json", "attack-mean.svg", "models.md",
                     "seed-5/robustness.md", "seed-5/corruption.csv", "seed-5/attack.svg", "seed-5/perturb.svg", "seed-5/robustness-seed.json",
                     "seed-6/robustness.md", "seed-6/attack.json", "seed-6/robustness-seed.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        XCTAssertNil(XMLCheck.parse(try String(contentsOf: out.appendingPathComponent("attack-mean.svg"), encoding: .utf8)).error)
        let report = try String(contentsOf: out.appendingPathComponent("robustness.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("## Over seeds"), report)
        XCTAssertTrue(report.contains("[seed 6](seed-6/robustness.md)"), report)

        // Again, with seed 6's record truncated: seed 5 is read, seed 6 measured again, same numbers.
        try Data("{".utf8).write(to: out.appendingPathComponent("seed-6/robustness-seed.json"))
        let again = try NSDEExecutable.run(arguments)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("Seed 5: measured before"), again.stderr)
        XCTAssertFalse(again.stderr.contains("Seed 6: measured before"), again.stderr)
        let second = try NSDEExecutable.object(again.stdout)
        XCTAssertEqual(second["summary"] as? NSDictionary, json["summary"] as? NSDictionary, "measuring is seeded")
    }

    func testModelsPresetIsCheckedAndMoreDataIsATablePreset() throws {
        let bad = try NSDEExecutable.run(["experiment", "robustness", "--models-preset", "huge"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("The value 'huge' is invalid for '--models-preset <preset>'. "
                                          + "Please provide one of 'quick', 'overfit', 'more-data' or 'paper'."), bad.stderr)
        let c = ComparisonPreset.moreData.configuration(dataset: .fashionMNIST)
        XCTAssertEqual(c.training.trainSubset, 8_000)
        XCTAssertEqual(c.training.epochs, 16)
        XCTAssertEqual(c.training.validationSize, 2_000)
        XCTAssertEqual(c.seeds, [0, 1, 2])
        XCTAssertEqual(c.training.model.groupNormGroups, 8)
        XCTAssertTrue(ComparisonPreset.tablePresets.contains(.moreData))
    }
}

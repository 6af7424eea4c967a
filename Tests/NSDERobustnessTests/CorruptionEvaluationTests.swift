import Foundation
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// `CorruptionEvaluation`: the result's structure and means, TTN at σ = 0, seeded
/// reproducibility, and the CIFAR-10-C directory path against the in-memory path.
final class CorruptionEvaluationTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-corruption-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A width-4, 2-step paper-small classifier with fixed random weights.
    static func model(inChannels: Int = 1, classes: Int = 2, noise: BlockNoise = .dropout, sigma: Float = 0.5) -> PaperClassifier {
        Initializer.manualSeed(11)
        let net = PaperClassifier(architecture: .paperSmall, inChannels: inChannels, classes: classes, width: 4, noise: noise, sigma: sigma, steps: 2)
        net.eval()
        return net
    }

    func testAllCorruptionsGiveFifteenByFiveCellsAndConsistentMeans() throws {
        let clean = SyntheticImages.dataset(count: 6, seed: 3)
        let bench = try CorruptionEvaluation(ttnSamples: 2, batchSize: 4, seed: 1)
        var calls = 0, last = (0, 0)
        let result = try bench.run(Self.model(), clean: clean) { done, total, _ in calls += 1; last = (done, total) }
        XCTAssertEqual(result.corruptions, Corruptions.names)
        XCTAssertEqual(result.corruptions.count, 15)
        XCTAssertEqual(result.severities, [1, 2, 3, 4, 5])
        XCTAssertEqual(result.cells.count, 75)
        XCTAssertEqual(result.cells.map(\.summary.count), [Int](repeating: 6, count: 75))
        XCTAssertEqual(result.cell("fog", severity: 3)?.corruption, "fog")
        XCTAssertEqual(result.cell("fog", severity: 3)?.severity, 3)
        XCTAssertNil(result.cell("fog", severity: 6))
        XCTAssertEqual(result.clean?.count, 6)
        XCTAssertTrue(result.ttnIsNoisy)
        XCTAssertEqual(last.0, last.1, "progress ends at the total")
        XCTAssertEqual(last.1, 6 + 75 * 6)
        XCTAssertGreaterThan(calls, 75)
        // Means: per corruption over severities, per severity over corruptions, overall over cells.
        XCTAssertEqual(result.meanByCorruption.count, 15)
        XCTAssertEqual(result.meanBySeverity.count, 5)
        let all = result.cells.map(\.accuracy).reduce(0, +) / 75
        XCTAssertEqual(result.mean.accuracy, all, accuracy: 1e-12)
        XCTAssertEqual(result.meanBySeverity.map(\.accuracy).reduce(0, +) / 5, all, accuracy: 1e-12)
        XCTAssertEqual(result.meanByCorruption.map(\.accuracy).reduce(0, +) / 15, all, accuracy: 1e-12)
        let fog = result.cells.filter { $0.corruption == "fog" }.map(\.accuracy).reduce(0, +) / 5
        XCTAssertEqual(result.meanByCorruption[Corruptions.names.firstIndex(of: "fog")!].accuracy, fog, accuracy: 1e-12)
        XCTAssertNotNil(result.mean.accuracyTTN)
    }

    func testTTNAtSigmaZeroEqualsPlain() throws {
        let bench = try CorruptionEvaluation(corruptions: ["gaussian_noise", "contrast"], severities: [2, 5], testSigma: 0,
                                             ttnSamples: 3, batchSize: 4)
        let result = try bench.run(Self.model(), clean: SyntheticImages.dataset(count: 8, seed: 4))
        XCTAssertFalse(result.ttnIsNoisy)
        for cell in result.cells {
            XCTAssertEqual(cell.accuracyTTN, cell.accuracy)
            XCTAssertEqual(cell.summary.ci95TTN, cell.summary.ci95)
        }
        XCTAssertEqual(result.clean?.accuracyTTN, result.clean?.accuracy)
        // Without TTN (K = 0) there are no TTN numbers at all.
        let none = try CorruptionEvaluation(corruptions: ["contrast"], severities: [1], ttnSamples: 0)
            .run(Self.model(), clean: SyntheticImages.dataset(count: 4, seed: 4))
        XCTAssertNil(none.cells[0].accuracyTTN)
        XCTAssertNil(none.mean.accuracyTTN)
    }

    func testSameSeedGivesIdenticalResults() throws {
        let clean = SyntheticImages.dataset(count: 10, seed: 6)
        func run(_ seed: UInt64) throws -> CorruptionEvaluationResult {
            try CorruptionEvaluation(corruptions: ["gaussian_noise", "impulse_noise", "glass_blur"], severities: [1, 5],
                                     ttnSamples: 2, batchSize: 3, seed: seed).run(Self.model(), clean: clean)
        }
        let a = try run(9), b = try run(9)
        XCTAssertEqual(a.cells, b.cells)
        XCTAssertEqual(a.clean, b.clean)
        // The corrupted images themselves: equal for the same seed, different for another.
        let bench9 = try CorruptionEvaluation(seed: 9), bench10 = try CorruptionEvaluation(seed: 10)
        let x = try bench9.corruptedTestSet(clean: clean, corruption: "gaussian_noise", severity: 3)
        XCTAssertEqual(x.pixels, try bench9.corruptedTestSet(clean: clean, corruption: "gaussian_noise", severity: 3).pixels)
        XCTAssertNotEqual(x.pixels, try bench10.corruptedTestSet(clean: clean, corruption: "gaussian_noise", severity: 3).pixels)
        XCTAssertNotEqual(x.pixels, clean.pixels)
        XCTAssertEqual(x.labels, clean.labels)
        XCTAssertEqual(x.imageShape, [1, 8, 8])
        // Severities get their own streams.
        XCTAssertNotEqual(x.pixels, try bench9.corruptedTestSet(clean: clean, corruption: "gaussian_noise", severity: 4).pixels)
    }

    /// The in-memory path turns NCHW into the corruptions' NHWC and back: an RGB set corrupted in
    /// memory equals the same images corrupted as a `CorruptionBatch` directly.
    func testInMemoryRGBMatchesCorruptionBatch() throws {
        let clean = SyntheticImages.cifarShaped(count: 3)
        let bench = try CorruptionEvaluation(seed: 2)
        let set = try bench.corruptedTestSet(clean: clean, corruption: "brightness", severity: 4)
        let nhwc = SyntheticImages.nhwc(clean)
        let direct = try nhwc.corrupted(by: Corruptions.named("brightness"), severity: 4, seed: 2)
        XCTAssertEqual(SyntheticImages.nhwc(set).pixels, direct.pixels)
    }

    /// A fake CIFAR-10-C directory written by `CIFAR10CWriter` with the same seed gives the same
    /// images and the same accuracies as corrupting in memory.
    func testCIFAR10CDirectoryMatchesInMemory() throws {
        let clean = SyntheticImages.cifarShaped(count: 7)
        let names = ["gaussian_noise", "fog", "jpeg_compression"]
        try CIFAR10CWriter.write(SyntheticImages.nhwc(clean), labels: clean.labels, corruptions: names.map { try Corruptions.named($0) },
                                 seed: 3, to: directory)
        let model = Self.model(inChannels: 3, classes: 10)
        let memory = try CorruptionEvaluation(corruptions: names, severities: [1, 3, 5], ttnSamples: 2, batchSize: 4, seed: 3)
        let disk = try CorruptionEvaluation(corruptions: names, severities: [1, 3, 5], cifar10cDirectory: directory,
                                            ttnSamples: 2, batchSize: 4, seed: 3)
        for name in names {
            for s in [1, 3, 5] {
                let a = try memory.corruptedTestSet(clean: clean, corruption: name, severity: s)
                let b = try disk.corruptedTestSet(clean: nil, corruption: name, severity: s)
                XCTAssertEqual(a.pixels, b.pixels, "\(name) s\(s)")
                XCTAssertEqual(a.labels, b.labels)
            }
        }
        let fromMemory = try memory.run(model, clean: clean)
        let fromDisk = try disk.run(model, clean: clean)
        XCTAssertEqual(fromDisk.cells, fromMemory.cells)
        XCTAssertEqual(fromDisk.clean, fromMemory.clean)
        XCTAssertEqual(fromDisk.cifar10cDirectory, directory.path)
        XCTAssertNil(fromMemory.cifar10cDirectory)
        // Without a clean set the directory still works; a test subset takes each block's first images.
        let subset = try CorruptionEvaluation(corruptions: ["fog"], severities: [2], cifar10cDirectory: directory, testSubset: 4,
                                              ttnSamples: 0).run(model, clean: nil)
        XCTAssertNil(subset.clean)
        XCTAssertEqual(subset.cells[0].summary.count, 4)
    }

    func testBadSettingsThrowNamedErrors() throws {
        XCTAssertThrowsError(try CorruptionEvaluation(corruptions: ["fog", "nope"])) { error in
            XCTAssertEqual(error as? RobustnessError, .unknownCorruption(name: "nope", known: Corruptions.names))
            XCTAssertTrue("\(error)".hasPrefix("unknown corruption 'nope' (valid: gaussian_noise, shot_noise,"), "\(error)")
        }
        // The 4 validation corruptions exist only in a CIFAR-10-C release.
        XCTAssertThrowsError(try CorruptionEvaluation(corruptions: ["saturate"]))
        XCTAssertNoThrow(try CorruptionEvaluation(corruptions: ["saturate"], cifar10cDirectory: directory))
        XCTAssertThrowsError(try CorruptionEvaluation(severities: [0, 1])) { error in
            XCTAssertEqual("\(error)", "severity must be 1...5, got 0")
        }
        XCTAssertThrowsError(try CorruptionEvaluation(corruptions: []))
        XCTAssertThrowsError(try CorruptionEvaluation(ttnSamples: -1))
        XCTAssertThrowsError(try CorruptionEvaluation(batchSize: 0))
        // A CIFAR-10-C directory missing a file fails before anything is evaluated, naming the file.
        try CIFAR10CWriter.write(SyntheticImages.nhwc(SyntheticImages.cifarShaped(count: 2)), labels: [0, 1], corruptions: [Fog()], seed: 0, to: directory)
        let bench = try CorruptionEvaluation(corruptions: ["fog", "snow"], cifar10cDirectory: directory)
        XCTAssertThrowsError(try bench.run(Self.model(inChannels: 3, classes: 10), clean: nil)) { error in
            XCTAssertTrue("\(error)".contains(directory.appendingPathComponent("snow.npy").path + ": file not found"), "\(error)")
        }
        let missing = try CorruptionEvaluation(cifar10cDirectory: directory.appendingPathComponent("absent"))
        XCTAssertThrowsError(try missing.checkSource()) { error in
            XCTAssertTrue("\(error)".contains("absent: directory not found"), "\(error)")
        }
        // In memory a clean set is required.
        XCTAssertThrowsError(try CorruptionEvaluation().run(Self.model(), clean: nil))
    }
}

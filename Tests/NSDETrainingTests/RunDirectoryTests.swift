import Foundation
import NSDEData
import NSDETestSupport
import XCTest
@testable import NSDETraining

/// `RunDirectory`: the lock, the guard against overwriting a checkpoint, the metrics file, and the
/// data fingerprint a resumed run is checked against.
final class RunDirectoryTests: XCTestCase {
    var run: RunDirectory!

    override func setUpWithError() throws {
        run = RunDirectory(FileManager.default.temporaryDirectory.appendingPathComponent("nsde-run-\(UUID().uuidString)"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: run.url) }

    /// The lock is exclusive (a second holder, even in the same process, is refused with the
    /// directory named) and released after the body, also when it throws.
    func testLockIsExclusiveAndReleased() throws {
        try run.withLock {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.lockURL.path))
            XCTAssertThrowsError(try run.withLock {}) {
                XCTAssertEqual($0 as? TrainingError, .directoryInUse(directory: run.path))
            }
        }
        struct Boom: Error {}
        XCTAssertThrowsError(try run.withLock { throw Boom() }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try run.withLock { 7 }, 7)
    }

    /// An empty directory takes a new run; any checkpoint file, even an unreadable one, refuses it.
    func testRequireNoCheckpoint() throws {
        try run.withLock { try run.requireNoCheckpoint() }
        try Data("{".utf8).write(to: run.url.appendingPathComponent(Checkpoint.stateFileName))
        XCTAssertThrowsError(try run.requireNoCheckpoint()) {
            XCTAssertEqual($0 as? TrainingError, .checkpointExists(directory: run.path, epoch: 0))
        }
    }

    /// `rewriteMetrics` replaces the file with one line per epoch (dropping a cut last line);
    /// `appendMetrics` adds one line; every line decodes back to its metrics.
    func testMetricsLines() throws {
        func metrics(_ epoch: Int) -> EpochMetrics {
            EpochMetrics(epoch: epoch, learningRate: 0.1, trainLoss: 1.0 / Double(epoch), trainAccuracy: 0.5, testAccuracy: nil,
                         testLoss: nil, seconds: 1, trainSeconds: 1, imagesPerSecond: 10, trainExamples: 10, testExamples: 0)
        }
        try FileManager.default.createDirectory(at: run.url, withIntermediateDirectories: true)
        try Data("{\"epoch\":1}\n{\"ep".utf8).write(to: run.metricsURL)
        try run.rewriteMetrics([metrics(1)])
        try run.appendMetrics(metrics(2))
        let lines = try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let decoded = try lines.map { try JSONDecoder().decode(EpochMetrics.self, from: Data($0.utf8)) }
        XCTAssertEqual(decoded.map(\.epoch), [1, 2])
        XCTAssertEqual(decoded[1].trainLoss, 0.5)
    }

    /// The fingerprint changes with the pixels, the labels or the test set, and the difference
    /// names the split that changed.
    func testDataFingerprint() {
        let train = SyntheticImages.dataset(count: 8, seed: 1), test = SyntheticImages.dataset(count: 4, seed: 2)
        let stored = DataFingerprint(train: train, test: test)
        XCTAssertEqual(stored, DataFingerprint(train: train, test: test))
        XCTAssertEqual(stored.trainExamples, 8)
        XCTAssertEqual(stored.testExamples, 4)
        var relabelled = train.labels
        relabelled[0] = 1 - relabelled[0]
        let changed = InMemoryImageDataset(pixels: train.pixels, labels: relabelled, imageShape: train.imageShape,
                                           classes: train.classes)
        let trainChanged = DataFingerprint(train: changed, test: test)
        XCTAssertNotEqual(stored.trainDigest, trainChanged.trainDigest)
        XCTAssertTrue(stored.difference(from: trainChanged).hasPrefix("the training data differ"))
        let testChanged = DataFingerprint(train: train, test: nil)
        XCTAssertEqual(testChanged.testExamples, 0)
        XCTAssertTrue(stored.difference(from: testChanged).hasPrefix("the test data differ"))
    }
}

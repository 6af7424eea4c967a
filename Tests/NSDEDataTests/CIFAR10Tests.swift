import Foundation
import XCTest
import NSDEData

final class CIFAR10Tests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    /// Writes the six files of a CIFAR-10 directory: `perBatch` records in each training file
    /// (images numbered consecutively across files) and `testCount` in `test_batch.bin`.
    func writeDirectory(_ d: URL, perBatch: Int = 2, testCount: Int = 3) throws {
        for b in 1...5 {
            let labels = (0..<perBatch).map { UInt8(((b - 1) * perBatch + $0) % 10) }
            try writeFile(Fixtures.cifar10File(labels: labels, first: (b - 1) * perBatch), d, "data_batch_\(b).bin")
        }
        try writeFile(Fixtures.cifar10File(labels: (0..<testCount).map { UInt8(9 - $0) }, first: 100), d, "test_batch.bin")
    }

    // MARK: - Round trips

    func testRecordsLandInChannelPlanesAtNCHWPositions() throws {
        let file = try dir.write(Fixtures.cifar10File(labels: [3, 0, 9]), to: "records.bin")
        let ds = try CIFAR10.load(files: [file])
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.imageShape, [3, 32, 32])
        XCTAssertEqual(ds.labels, [3, 0, 9])
        XCTAssertEqual(ds.classes, CIFAR10.classNames)
        XCTAssertNil(Fixtures.mismatch(ds))
        // Spot checks against the raw record: byte 1 + c * 1024 + y * 32 + x of record i.
        let raw = try [UInt8](Data(contentsOf: file))
        let (images, _) = ds.batch(indices: [1, 2])
        for (b, i) in [1, 2].enumerated() {
            for (c, y, x) in [(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 0, 31), (0, 31, 0), (1, 17, 5), (2, 31, 31)] {
                let stored = raw[i * 3_073 + 1 + c * 1_024 + y * 32 + x]
                XCTAssertEqual(images[b, c, y, x], Float(stored) / 255, "image \(i) channel \(c) (\(y), \(x))")
            }
        }
    }

    func testTrainSplitConcatenatesTheFiveBatchesInOrder() throws {
        try writeDirectory(dir.url)
        let train = try CIFAR10.load(split: .train, directory: dir.url)
        XCTAssertEqual(train.count, 10)
        XCTAssertEqual(train.labels, (0..<10).map { $0 % 10 })
        XCTAssertNil(Fixtures.mismatch(train))
        let test = try CIFAR10.load(split: .test, directory: dir.url)
        XCTAssertEqual(test.count, 3)
        XCTAssertEqual(test.labels, [9, 8, 7])
        XCTAssertNil(Fixtures.mismatch(test, first: 100))
    }

    func testArchiveFolderAndClassNamesFileAreFound() throws {
        let nested = try dir.subdirectory(CIFAR10.subdirectory)
        try writeDirectory(nested)
        let names = (0..<10).map { "class-\($0)" }
        try writeFile(Array((names.joined(separator: "\n") + "\n\n").utf8), nested, "batches.meta.txt")
        let test = try CIFAR10.load(split: .test, directory: dir.url)
        XCTAssertEqual(test.count, 3)
        XCTAssertEqual(test.classes, names)
    }

    func testLoadsTenThousandRecords() throws {
        let n = 10_000
        // Every record has image 0's pixels (cheap to generate) except the last.
        let pixels = Fixtures.cifarRecord(0, labels: [])
        var bytes = [UInt8]()
        bytes.reserveCapacity(n * 3_073)
        for i in 0 ..< n - 1 { bytes.append(UInt8(i % 10)); bytes += pixels }
        bytes += Fixtures.cifarRecord(n - 1, labels: [UInt8((n - 1) % 10)])
        let file = try dir.write(bytes, to: "big.bin")
        let ds = try CIFAR10.load(files: [file])   // its speed: `nsde bench data`
        XCTAssertEqual(ds.count, n)
        XCTAssertEqual(ds.classCounts(), [Int](repeating: n / 10, count: 10))
        XCTAssertEqual(Array(ds.pixels(at: 9_999)), Fixtures.cifarRecord(9_999, labels: []))
    }

    // MARK: - Malformed files

    func testSizeNotAMultipleOfTheRecordNamesFileAndSizes() throws {
        let partial = try dir.write(Fixtures.cifar10File(labels: [1, 2]) + [7, 7, 7, 7, 7], to: "partial.bin")
        let err = assertDataError(try CIFAR10.load(files: [partial]), mentioning: partial.path) {
            if case .notWholeRecords(_, _, 3_073, 6_151) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains("2 whole records and 5 bytes left over") ?? false, "\(String(describing: err))")
        XCTAssertTrue(err?.description.contains("1 label byte + 3072 pixel bytes") ?? false)

        let truncated = try dir.write(Array(Fixtures.cifar10File(labels: [1]).prefix(3_000)), to: "truncated.bin")
        assertDataError(try CIFAR10.load(files: [truncated]), mentioning: truncated.path) {
            if case .notWholeRecords(_, _, _, 3_000) = $0 { return true } else { return false }
        }
        let empty = try dir.write([], to: "empty.bin")
        assertDataError(try CIFAR10.load(files: [empty]), mentioning: empty.path) {
            if case .notWholeRecords(_, _, _, 0) = $0 { return true } else { return false }
        }
    }

    func testLabelOutOfRangeNamesFileAndRecord() throws {
        let good = try dir.write(Fixtures.cifar10File(labels: [1, 2]), to: "good.bin")
        let bad = try dir.write(Fixtures.cifar10File(labels: [4, 10, 3]), to: "bad.bin")
        let err = assertDataError(try CIFAR10.load(files: [good, bad]), mentioning: bad.path) {
            if case .labelOutOfRange(_, 1, 10, 10) = $0 { return true } else { return false }
        }
        XCTAssertEqual(err?.file, bad.path)
    }

    func testMissingFileAndDirectorySayWhatIsExpected() throws {
        try writeDirectory(dir.url)
        try FileManager.default.removeItem(at: dir.file("data_batch_4.bin"))
        XCTAssertEqual(try CIFAR10.load(split: .test, directory: dir.url).count, 3, "the test split does not need it")
        let err = assertDataError(try CIFAR10.load(split: .train, directory: dir.url),
                                  mentioning: dir.file("data_batch_4.bin").path) {
            if case .missingDatasetFile = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains("data_batch_1.bin ... data_batch_5.bin and test_batch.bin") ?? false)

        let nowhere = dir.file("no-such-directory")
        assertDataError(try CIFAR10.load(split: .test, directory: nowhere), mentioning: nowhere.path) {
            if case .missingDirectory(_, "CIFAR-10", _) = $0 { return true } else { return false }
        }
    }

    func testClassNamesFileWithWrongCount() throws {
        try writeDirectory(dir.url)
        let names = try dir.write(text: "airplane\nautomobile\n\n", to: "batches.meta.txt")
        assertDataError(try CIFAR10.load(split: .test, directory: dir.url), mentioning: names.path) {
            if case .wrongClassNames(_, 10, 2) = $0 { return true } else { return false }
        }
    }
}

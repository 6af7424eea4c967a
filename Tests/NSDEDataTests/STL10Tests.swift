import Foundation
import XCTest
import NSDEData

final class STL10Tests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    func testColumnMajorPlanesAreTransposedToRowMajor() throws {
        let images = try dir.write(Fixtures.stl10Images(3), to: "train_X.bin")
        let labels = try dir.write([1, 10, 5], to: "train_y.bin")
        let ds = try STL10.load(images: images, labels: labels)
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.imageShape, [3, 96, 96])
        XCTAssertEqual(ds.labels, [0, 9, 4], "stored 1...10 become 0...9")
        XCTAssertEqual(ds.classes, STL10.classNames)
        XCTAssertNil(Fixtures.mismatch(ds))

        // Directly against the file: pixel (row y, column x) of plane c is byte x * 96 + y.
        let raw = try [UInt8](Data(contentsOf: images))
        let (batch, _) = ds.batch(indices: [2])
        for (c, y, x) in [(0, 0, 1), (0, 1, 0), (1, 0, 95), (2, 95, 0), (2, 40, 7)] {
            let stored = raw[2 * 27_648 + c * 9_216 + x * 96 + y]
            XCTAssertEqual(batch[0, c, y, x], Float(stored) / 255, "channel \(c) row \(y) column \(x)")
        }
        XCTAssertNotEqual(ds.pixels[1], raw[1], "row 0 column 1 is not the second stored byte")
        XCTAssertEqual(ds.pixels[1], raw[96])
    }

    func testDirectoryArchiveFolderAndClassNamesFile() throws {
        let nested = try dir.subdirectory(STL10.subdirectory)
        try writeFile(Fixtures.stl10Images(2), nested, "test_X.bin")
        try writeFile([3, 4], nested, "test_y.bin")
        let names = (1...10).map { "n\($0)" }
        try writeFile(Array(names.joined(separator: "\r\n").utf8), nested, "class_names.txt")
        let test = try STL10.load(split: .test, directory: dir.url)
        XCTAssertEqual(test.labels, [2, 3])
        XCTAssertEqual(test.classes, names)
        XCTAssertNil(Fixtures.mismatch(test))

        assertDataError(try STL10.load(split: .train, directory: dir.url),
                        mentioning: nested.appendingPathComponent("train_X.bin").path) {
            if case .missingDatasetFile(_, "STL-10", _) = $0 { return true } else { return false }
        }
        try FileManager.default.removeItem(at: nested.appendingPathComponent("test_y.bin"))
        let err = assertDataError(try STL10.load(split: .test, directory: dir.url),
                                  mentioning: nested.appendingPathComponent("test_y.bin").path) {
            if case .missingDatasetFile = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains("train_X.bin, train_y.bin, test_X.bin and test_y.bin") ?? false)
    }

    func testLabelZeroOrAboveTenNamesFileAndIndex() throws {
        let images = try dir.write(Fixtures.stl10Images(3), to: "x.bin")
        for (stored, index) in [(UInt8(0), 1), (UInt8(11), 2), (UInt8(255), 0)] {
            var values: [UInt8] = [1, 2, 3]
            values[index] = stored
            let labels = try dir.write(values, to: "y-\(stored).bin")
            let err = assertDataError(try STL10.load(images: images, labels: labels), mentioning: labels.path) {
                if case .labelNotInRange(_, index, Int(stored), 1...10) = $0 { return true } else { return false }
            }
            XCTAssertTrue(err?.description.contains("label \(stored) at index \(index) is out of range: expected 1...10") ?? false,
                          "\(String(describing: err))")
        }
    }

    func testImageAndLabelCountMismatch() throws {
        let images = try dir.write(Fixtures.stl10Images(2), to: "x.bin")
        let labels = try dir.write([1, 2, 3], to: "y.bin")
        let err = assertDataError(try STL10.load(images: images, labels: labels), mentioning: images.path) {
            if case .countMismatch(_, 2, _, 3) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains(labels.path) ?? false)
    }

    func testImagesFileNotWholeImages() throws {
        let labels = try dir.write([1], to: "y.bin")
        let long = try dir.write(Fixtures.stl10Images(1) + [0, 0, 0], to: "long.bin")
        assertDataError(try STL10.load(images: long, labels: labels), mentioning: long.path) {
            if case .notWholeRecords(_, _, 27_648, 27_651) = $0 { return true } else { return false }
        }
        let short = try dir.write(Array(Fixtures.stl10Images(1).prefix(27_000)), to: "short.bin")
        assertDataError(try STL10.load(images: short, labels: labels), mentioning: short.path) {
            if case .notWholeRecords(_, _, 27_648, 27_000) = $0 { return true } else { return false }
        }
        let empty = try dir.write([], to: "empty.bin")
        assertDataError(try STL10.load(images: empty, labels: labels), mentioning: empty.path) {
            if case .notWholeRecords(_, _, _, 0) = $0 { return true } else { return false }
        }
    }
}

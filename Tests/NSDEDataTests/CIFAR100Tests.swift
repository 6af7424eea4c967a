import Foundation
import XCTest
import NSDEData

final class CIFAR100Tests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    func testFineLabelsByDefaultCoarseOnRequest() throws {
        let file = try dir.write(Fixtures.cifar100File(coarse: [19, 0, 7], fine: [99, 42, 0]), to: "train.bin")
        let fine = try CIFAR100.load(files: [file])
        XCTAssertEqual(fine.labels, [99, 42, 0])
        XCTAssertEqual(fine.classCount, 100)
        XCTAssertEqual(fine.classes[99], "worm")
        XCTAssertEqual(fine.imageShape, [3, 32, 32])
        XCTAssertNil(Fixtures.mismatch(fine), "two label bytes are skipped before the planes")

        let coarse = try CIFAR100.load(files: [file], labels: .coarse)
        XCTAssertEqual(coarse.labels, [19, 0, 7])
        XCTAssertEqual(coarse.classCount, 20)
        XCTAssertEqual(coarse.classes[19], "vehicles_2")
        XCTAssertEqual(coarse.pixels, fine.pixels)
    }

    func testBuiltInClassLists() {
        XCTAssertEqual(CIFAR100.fineClassNames.count, 100)
        XCTAssertEqual(Set(CIFAR100.fineClassNames).count, 100)
        XCTAssertEqual(CIFAR100.fineClassNames, CIFAR100.fineClassNames.sorted(), "the release lists them alphabetically")
        XCTAssertEqual(CIFAR100.coarseClassNames.count, 20)
        XCTAssertEqual(Set(CIFAR100.coarseClassNames).count, 20)
    }

    func testDirectoryArchiveFolderAndNamesFiles() throws {
        let nested = try dir.subdirectory(CIFAR100.subdirectory)
        try writeFile(Fixtures.cifar100File(coarse: [1, 2], fine: [3, 4]), nested, "test.bin")
        let fineNames = (0..<100).map { "f\($0)" }
        try writeFile(Array(fineNames.joined(separator: "\n").utf8), nested, "fine_label_names.txt")
        let test = try CIFAR100.load(split: .test, directory: dir.url)
        XCTAssertEqual(test.labels, [3, 4])
        XCTAssertEqual(test.classes, fineNames)
        let coarse = try CIFAR100.load(split: .test, directory: dir.url, labels: .coarse)
        XCTAssertEqual(coarse.classes, CIFAR100.coarseClassNames, "no coarse_label_names.txt: built-in names")

        assertDataError(try CIFAR100.load(split: .train, directory: dir.url),
                        mentioning: nested.appendingPathComponent("train.bin").path) {
            if case .missingDatasetFile(_, "CIFAR-100", _) = $0 { return true } else { return false }
        }
    }

    func testLabelOutOfRangeForTheChosenLabel() throws {
        let fineBad = try dir.write(Fixtures.cifar100File(coarse: [0, 1], fine: [5, 100]), to: "fine-bad.bin")
        assertDataError(try CIFAR100.load(files: [fineBad]), mentioning: fineBad.path) {
            if case .labelOutOfRange(_, 1, 100, 100) = $0 { return true } else { return false }
        }
        XCTAssertEqual(try CIFAR100.load(files: [fineBad], labels: .coarse).labels, [0, 1])

        let coarseBad = try dir.write(Fixtures.cifar100File(coarse: [20], fine: [5]), to: "coarse-bad.bin")
        assertDataError(try CIFAR100.load(files: [coarseBad], labels: .coarse), mentioning: coarseBad.path) {
            if case .labelOutOfRange(_, 0, 20, 20) = $0 { return true } else { return false }
        }
    }

    func testCIFAR10FileIsNotWholeCIFAR100Records() throws {
        let file = try dir.write(Fixtures.cifar10File(labels: [1, 2, 3]), to: "cifar10-records.bin")
        let err = assertDataError(try CIFAR100.load(files: [file]), mentioning: file.path) {
            if case .notWholeRecords(_, _, 3_074, 9_219) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains("CIFAR-100 record (2 label bytes + 3072 pixel bytes)") ?? false)
    }
}

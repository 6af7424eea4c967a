import Foundation
import XCTest
import NSDEData

final class CIFAR10CTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    /// Labels of image `i` in the fixtures.
    func label(_ i: Int) -> Int { (i * 3) % 10 }

    /// Writes `<corruption>.npy` with `5 * m` NHWC images and `labels.npy` into `d`.
    func writeRelease(_ d: URL, m: Int = 2, corruption: CIFAR10C.Corruption = .fog, int64Labels: Bool = true) throws {
        try NumPy.write(Fixtures.cifar10cImages(5 * m), to: d.appendingPathComponent(corruption.fileName))
        let labels = (0..<5 * m).map(label)
        let array = int64Labels ? NumPyArray(labels.map { Int64($0) }, shape: [5 * m])
                                : NumPyArray(labels.map { UInt8($0) }, shape: [5 * m])
        try NumPy.write(array, to: d.appendingPathComponent("labels.npy"))
    }

    func testCorruptionList() {
        let names = CIFAR10C.Corruption.allCases.map(\.rawValue)
        XCTAssertEqual(names.count, 19)
        XCTAssertEqual(Set(names).count, 19)
        XCTAssertEqual(CIFAR10C.Corruption.benchmark.map(\.rawValue), [
            "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
            "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
        ])
        XCTAssertEqual(CIFAR10C.Corruption.validation.map(\.rawValue), ["speckle_noise", "gaussian_blur", "spatter", "saturate"])
        XCTAssertEqual(Set(CIFAR10C.Corruption.benchmark + CIFAR10C.Corruption.validation), Set(CIFAR10C.Corruption.allCases))
        XCTAssertTrue(CIFAR10C.Corruption.contrast.isBenchmark)
        XCTAssertFalse(CIFAR10C.Corruption.spatter.isBenchmark)
        XCTAssertEqual(CIFAR10C.Corruption.jpegCompression.fileName, "jpeg_compression.npy")
    }

    func testEachSeverityIsItsBlockTransposedToNCHW() throws {
        for int64Labels in [true, false] {
            try writeRelease(dir.url, m: 2, int64Labels: int64Labels)
            for severity in 1...5 {
                let ds = try CIFAR10C.load(directory: dir.url, corruption: .fog, severity: severity)
                XCTAssertEqual(ds.count, 2)
                XCTAssertEqual(ds.imageShape, [3, 32, 32])
                XCTAssertEqual(ds.classes, CIFAR10.classNames)
                let first = (severity - 1) * 2
                XCTAssertEqual(ds.labels, [label(first), label(first + 1)])
                XCTAssertNil(Fixtures.mismatch(ds, first: first), "severity \(severity)")
            }
        }
        // Directly against the stored array: [i, y, x, c] becomes [i, c, y, x].
        let stored = try NumPy.read(contentsOf: dir.file("fog.npy")).uint8Values!
        let (batch, _) = try CIFAR10C.load(directory: dir.url, corruptionName: "fog", severity: 4).batch(indices: [1])
        for (c, y, x) in [(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 0, 1), (2, 31, 30), (1, 5, 9)] {
            let value = stored[(((3 * 2 + 1) * 32 + y) * 32 + x) * 3 + c]
            XCTAssertEqual(batch[0, c, y, x], Float(value) / 255, "channel \(c) (\(y), \(x))")
        }
    }

    func testArchiveFolderIsFound() throws {
        let nested = try dir.subdirectory(CIFAR10C.subdirectory)
        try writeRelease(nested, m: 1, corruption: .jpegCompression)
        XCTAssertEqual(try CIFAR10C.load(directory: dir.url, corruption: .jpegCompression, severity: 5).labels, [label(4)])
    }

    func testSeverityOutOfRange() throws {
        try writeRelease(dir.url)
        for severity in [0, 6, -1] {
            let err = assertDataError(try CIFAR10C.load(directory: dir.url, corruption: .fog, severity: severity),
                                      mentioning: dir.file("fog.npy").path) {
                if case .severityOutOfRange(_, severity, 1...5) = $0 { return true } else { return false }
            }
            XCTAssertTrue(err?.description.contains("severity \(severity) is out of range: expected 1...5") ?? false)
        }
    }

    func testUnknownCorruptionNameListsTheKnownOnes() throws {
        try writeRelease(dir.url)
        let err = assertDataError(try CIFAR10C.load(directory: dir.url, corruptionName: "fgo", severity: 1),
                                  mentioning: dir.file("fgo.npy").path) {
            if case .unknownCorruption(_, "fgo", let known) = $0 { return known.count == 19 } else { return false }
        }
        XCTAssertTrue(err?.description.contains("gaussian_noise, shot_noise") ?? false)
        XCTAssertEqual(try CIFAR10C.corruption(named: "elastic_transform"), .elasticTransform)
    }

    func testWrongShapesAndTypes() throws {
        try writeRelease(dir.url)
        let labels = dir.file("labels.npy")
        let cases: [(NumPyArray, String)] = [
            (NumPyArray([UInt8](repeating: 0, count: 10 * 32 * 32), shape: [10, 32, 32, 1]), "grey"),
            (NumPyArray([UInt8](repeating: 0, count: 10 * 3 * 32 * 32), shape: [10, 3, 32, 32]), "nchw"),
            (NumPyArray([UInt8](repeating: 0, count: 7 * 32 * 32 * 3), shape: [7, 32, 32, 3]), "seven"),
            (NumPyArray([UInt8](), shape: [0, 32, 32, 3]), "empty"),
            (NumPyArray([UInt8](repeating: 0, count: 10 * 3072), shape: [10, 3072]), "flat"),
        ]
        for (array, name) in cases {
            let url = dir.file("\(name).npy")
            try NumPy.write(array, to: url)
            let err = assertDataError(try CIFAR10C.load(images: url, labels: labels, severity: 1), mentioning: url.path) {
                if case .wrongShape(_, _, array.shape) = $0 { return true } else { return false }
            }
            XCTAssertTrue(err?.description.contains("[5 * m, 32, 32, 3]") ?? false)
        }
        let floats = dir.file("floats.npy")
        try NumPy.write(NumPyArray([Float](repeating: 0, count: 10 * 3072), shape: [10, 32, 32, 3]), to: floats)
        assertDataError(try CIFAR10C.load(images: floats, labels: labels, severity: 1), mentioning: floats.path) {
            if case .wrongElementType(_, _, "<f4") = $0 { return true } else { return false }
        }
        let floatLabels = dir.file("float-labels.npy")
        try NumPy.write(NumPyArray([Float](repeating: 0, count: 10), shape: [10]), to: floatLabels)
        assertDataError(try CIFAR10C.load(images: dir.file("fog.npy"), labels: floatLabels, severity: 1),
                        mentioning: floatLabels.path) {
            if case .wrongElementType = $0 { return true } else { return false }
        }
        let matrixLabels = dir.file("matrix-labels.npy")
        try NumPy.write(NumPyArray([Int64](repeating: 0, count: 10), shape: [5, 2]), to: matrixLabels)
        assertDataError(try CIFAR10C.load(images: dir.file("fog.npy"), labels: matrixLabels, severity: 1),
                        mentioning: matrixLabels.path) {
            if case .wrongShape(_, _, [5, 2]) = $0 { return true } else { return false }
        }
    }

    func testCountMismatchAndLabelOutOfRange() throws {
        try writeRelease(dir.url, m: 2)
        let images = dir.file("fog.npy")
        let fifteen = dir.file("fifteen.npy")
        try NumPy.write(NumPyArray([Int64](repeating: 1, count: 15), shape: [15]), to: fifteen)
        let err = assertDataError(try CIFAR10C.load(images: images, labels: fifteen, severity: 1), mentioning: images.path) {
            if case .countMismatch(_, 10, _, 15) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains(fifteen.path) ?? false)

        var values = (0..<10).map { Int64(label($0)) }
        values[5] = 10
        let bad = dir.file("bad-labels.npy")
        try NumPy.write(NumPyArray(values, shape: [10]), to: bad)
        assertDataError(try CIFAR10C.load(images: images, labels: bad, severity: 3), mentioning: bad.path) {
            if case .labelOutOfRange(_, 5, 10, 10) = $0 { return true } else { return false }
        }
        XCTAssertEqual(try CIFAR10C.load(images: images, labels: bad, severity: 2).count, 2, "only the loaded block is checked")
    }

    func testMalformedNpyIsReportedThroughTheLoader() throws {
        try writeRelease(dir.url)
        let images = dir.file("fog.npy")
        var bytes = try [UInt8](Data(contentsOf: images))
        bytes.removeLast(100)
        try Data(bytes).write(to: images)
        assertDataError(try CIFAR10C.load(directory: dir.url, corruption: .fog, severity: 1), mentioning: images.path) {
            if case .truncated = $0 { return true } else { return false }
        }
        try Data([0x50, 0x4B, 3, 4] + bytes).write(to: images)
        assertDataError(try CIFAR10C.load(directory: dir.url, corruption: .fog, severity: 1), mentioning: images.path) {
            if case .wrongMagic = $0 { return true } else { return false }
        }
    }

    func testMissingFilesAndDirectory() throws {
        try writeRelease(dir.url, corruption: .fog)
        let err = assertDataError(try CIFAR10C.load(directory: dir.url, corruption: .snow, severity: 1),
                                  mentioning: dir.file("snow.npy").path) {
            if case .missingDatasetFile(_, "CIFAR-10-C", _) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains("<corruption>.npy") ?? false)
        try FileManager.default.removeItem(at: dir.file("labels.npy"))
        assertDataError(try CIFAR10C.load(directory: dir.url, corruption: .fog, severity: 1),
                        mentioning: dir.file("labels.npy").path) {
            if case .missingDatasetFile = $0 { return true } else { return false }
        }
        let nowhere = dir.file("nowhere")
        assertDataError(try CIFAR10C.load(directory: nowhere, corruption: .fog, severity: 1), mentioning: nowhere.path) {
            if case .missingDirectory = $0 { return true } else { return false }
        }
    }
}

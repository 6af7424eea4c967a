import Foundation
import XCTest
import NSDEData

/// Tests on the real Fashion-MNIST files from the Debian package `dataset-fashion-mnist`.
final class FashionMNISTTests: XCTestCase {
    func requireFiles() throws {
        let dir = FashionMNIST.defaultDirectory
        let present = DatasetSplit.allCases.allSatisfy { split in
            let (images, labels) = IDXImageDataset.files(split: split, directory: dir)
            return FileManager.default.fileExists(atPath: images.path) && FileManager.default.fileExists(atPath: labels.path)
        }
        if present { return }
        let message = "Fashion-MNIST not found in \(dir.path); install the Debian package dataset-fashion-mnist"
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail(message + " (required because CI is set)")
            throw XCTSkip("failed: " + message)
        }
        throw XCTSkip(message)
    }


    func testTrainSplit() throws {
        try requireFiles()
        let ds = try FashionMNIST.load(split: .train)   // its speed: `nsde bench data`
        XCTAssertEqual(ds.count, 60_000)
        XCTAssertEqual(ds.imageShape, [1, 28, 28])
        XCTAssertEqual(ds.pixels.count, 60_000 * 784)
        XCTAssertEqual(ds.classes, FashionMNIST.classNames)
        XCTAssertEqual(ds.classCounts(), [Int](repeating: 6_000, count: 10), "balanced classes")
        XCTAssertEqual(Array(ds.labels.prefix(10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        XCTAssertEqual(ds.pixels(at: 0).reduce(0) { $0 + Int($1) }, 76_247, "checksum of the first image")
        XCTAssertEqual(ds.pixels.max(), 255)

        let (images, labels) = ds.batch(indices: Array(0..<128))
        XCTAssertEqual(images.shape, [128, 1, 28, 28])
        XCTAssertEqual(labels.count, 128)
        XCTAssertTrue(images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })

        let loader = DataLoader(dataset: ds, batchSize: 128, seed: 0, dropLast: true,
                                augmentation: Augmentation(cropPadding: 2))
        XCTAssertEqual(loader.batchesPerEpoch, 468)
        var seen = 0
        for (images, labels) in loader.epoch(0) {
            XCTAssertEqual(images.shape, [128, 1, 28, 28])
            seen += labels.count
        }
        XCTAssertEqual(seen, 468 * 128)
    }

    func testTestSplit() throws {
        try requireFiles()
        let ds = try FashionMNIST.load(split: .test)
        XCTAssertEqual(ds.count, 10_000)
        XCTAssertEqual(ds.imageShape, [1, 28, 28])
        XCTAssertEqual(ds.classCounts(), [Int](repeating: 1_000, count: 10), "balanced classes")
        XCTAssertEqual(Array(ds.labels.prefix(10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        XCTAssertEqual(ds.pixels(at: 0).reduce(0) { $0 + Int($1) }, 33_456, "checksum of the first image")
    }
}

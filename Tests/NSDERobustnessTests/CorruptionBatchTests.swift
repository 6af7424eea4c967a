import Foundation
import NSDEData
import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// Corrupting sets: independent of threads and of how the set is split; the CIFAR-10-C writer's
/// files load with `CIFAR10C`.
final class CorruptionBatchTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-corrupt-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// 6 images: the four test images and two more.
    let batch = CorruptionBatch(images: CorruptionTestImages.all() + [CorruptionTestImages.constant(128), CorruptionTestImages.all()[2]])

    func testResultIsIndependentOfThreadsAndOfSplitting() throws {
        for corruption in Corruptions.benchmark where corruption.isRandom {
            let one = try batch.corrupted(by: corruption, severity: 4, seed: 8, threads: 1)
            let three = try batch.corrupted(by: corruption, severity: 4, seed: 8, threads: 3)
            XCTAssertEqual(one, three, corruption.name)
            // Images 0..<2 and 2..<6 separately, with the right first index.
            let first = CorruptionBatch(count: 2, height: 32, width: 32, channels: 3, pixels: Array(batch.pixels[0 ..< 2 * 3072]))
            let rest = CorruptionBatch(count: 4, height: 32, width: 32, channels: 3, pixels: Array(batch.pixels[2 * 3072 ..< 6 * 3072]))
            let a = try first.corrupted(by: corruption, severity: 4, seed: 8, threads: 2)
            let b = try rest.corrupted(by: corruption, severity: 4, seed: 8, firstIndex: 2, threads: 2)
            XCTAssertEqual(a.pixels + b.pixels, one.pixels, corruption.name)
            // Each image equals the corruption applied on its own with its index.
            XCTAssertEqual(one[5], corruption.apply(batch[5], severity: 4, seed: 8, index: 5), corruption.name)
            // Images 2 and 5 are the same picture but get different noise.
            XCTAssertNotEqual(one[2], one[5], corruption.name)
        }
    }

    func testAllSeveritiesStacksBlocksInOrder() throws {
        let stacked = try batch.allSeverities(by: GaussianNoise(), seed: 1, threads: 2)
        XCTAssertEqual(stacked.shape, [30, 32, 32, 3])
        for s in 1 ... 5 {
            let block = try batch.corrupted(by: GaussianNoise(), severity: s, seed: 1)
            XCTAssertEqual(Array(stacked.pixels[(s - 1) * 6 * 3072 ..< s * 6 * 3072]), block.pixels, "severity \(s)")
        }
    }

    func testNumPyShapesAreValidated() throws {
        let grey = NumPyArray(dtype: .uint8, shape: [2, 5, 7], data: [UInt8](repeating: 9, count: 70))
        let g = try CorruptionBatch(grey, file: "g.npy")
        XCTAssertEqual([g.count, g.height, g.width, g.channels], [2, 5, 7, 1])
        XCTAssertEqual(try g.corrupted(by: Fog(), severity: 2, seed: 0).numPyArray.shape, [2, 5, 7])
        let one = try CorruptionBatch(NumPyArray(dtype: .uint8, shape: [1, 4, 4, 1], data: [UInt8](repeating: 0, count: 16)))
        XCTAssertEqual(one.shape, [1, 4, 4, 1])

        XCTAssertThrowsError(try CorruptionBatch(NumPyArray(dtype: .uint8, shape: [2, 4, 4, 2], data: [UInt8](repeating: 0, count: 64)), file: "x.npy")) {
            XCTAssertEqual("\($0)", "x.npy: images have shape [2, 4, 4, 2]; expected uint8 [N, H, W, C] with C = 1 or 3, or [N, H, W] (greyscale), N, H, W >= 1")
        }
        XCTAssertThrowsError(try CorruptionBatch(NumPyArray([Float](repeating: 0, count: 12), shape: [1, 2, 2, 3]), file: "f.npy")) {
            XCTAssertEqual("\($0)", "f.npy: images must be uint8 (|u1), found float32")
        }
        XCTAssertThrowsError(try CorruptionBatch(NumPyArray(dtype: .uint8, shape: [12], data: [UInt8](repeating: 0, count: 12)), file: "v.npy"))
        XCTAssertThrowsError(try CorruptionBatch(NumPyArray(dtype: .uint8, shape: [0, 32, 32, 3], data: []), file: "e.npy"))
    }

    /// The writer's directory loads with the CIFAR-10-C loader: every corruption and severity,
    /// NCHW pixels equal to the NHWC block, labels tiled.
    func testWrittenDirectoryLoadsWithCIFAR10C() throws {
        let labels = [3, 1, 4, 1, 5, 9]
        let chosen: [any Corruption] = [GaussianNoise(), Frost(), JPEGCompression()]
        let files = try CIFAR10CWriter.write(batch, labels: labels, corruptions: chosen, seed: 5, to: directory, threads: 2)
        XCTAssertEqual(files.map(\.lastPathComponent), ["gaussian_noise.npy", "frost.npy", "jpeg_compression.npy", "labels.npy"])
        let labelFile = try NumPy.read(contentsOf: directory.appendingPathComponent("labels.npy"))
        XCTAssertEqual(labelFile.dtype, .uint8)
        XCTAssertEqual(labelFile.integers(), Array([[Int]](repeating: labels, count: 5).joined()))
        for corruption in chosen {
            let raw = try NumPy.read(contentsOf: directory.appendingPathComponent(corruption.name + ".npy"))
            XCTAssertEqual(raw.shape, [30, 32, 32, 3])
            for s in 1 ... 5 {
                let loaded = try CIFAR10C.load(directory: directory, corruptionName: corruption.name, severity: s)
                XCTAssertEqual(loaded.count, 6)
                XCTAssertEqual(loaded.labels, labels)
                let expected = try batch.corrupted(by: corruption, severity: s, seed: 5)
                for i in 0 ..< 6 {
                    let image = expected[i]
                    for (c, y, x) in [(0, 0, 0), (1, 5, 7), (2, 31, 30), (0, 17, 3)] {
                        XCTAssertEqual(loaded.pixels[i * 3072 + c * 1024 + y * 32 + x], image[y, x, c])
                    }
                }
            }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [])
    }

    func testWriterValidatesLabels() {
        XCTAssertThrowsError(try CIFAR10CWriter.write(batch, labels: [1, 2], corruptions: [Contrast()], seed: 0, to: directory)) {
            XCTAssertTrue("\($0)".hasSuffix("labels.npy: 2 labels for 6 images (expected one per image)"), "\($0)")
        }
        XCTAssertThrowsError(try CIFAR10CWriter.write(batch, labels: [1, 2, 3, -4, 5, 6], corruptions: [Contrast()], seed: 0, to: directory)) {
            XCTAssertTrue("\($0)".hasSuffix("label -4 at index 3 is negative"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path))
    }

    func testLabelsAboveUInt8AreWrittenAsInt64AndNoLabelsWritesNone() throws {
        try CIFAR10CWriter.write(batch, labels: [0, 1, 2, 3, 300, 5], corruptions: [Contrast()], seed: 0, to: directory)
        XCTAssertEqual(try NumPy.read(contentsOf: directory.appendingPathComponent("labels.npy")).dtype, .int64)
        let other = directory.appendingPathComponent("nolabels")
        let files = try CIFAR10CWriter.write(batch, labels: nil, corruptions: [Contrast()], seed: 0, to: other)
        XCTAssertEqual(files.map(\.lastPathComponent), ["contrast.npy"])
    }
}

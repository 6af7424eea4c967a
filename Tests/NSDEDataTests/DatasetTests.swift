import Foundation
import XCTest
import NSDETensor
import NSDEData

final class DatasetTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    let classes = ["a", "b", "c"]

    /// Writes `n` images of shape [H=4, W=3] whose pixels are `10 * i + k` and labels `i % 3`.
    func writeFixture(n: Int = 5, labels: [UInt8]? = nil, compressed: Bool) throws -> (URL, URL) {
        let pixels: [UInt8] = (0..<n).flatMap { i -> [UInt8] in (0..<12).map { k in UInt8(10 * i + k) } }
        let images = dir.file("images-\(compressed)")
        let labelsURL = dir.file("labels-\(compressed)")
        try IDX.write(IDXArray(uint8: pixels, shape: [n, 4, 3]), to: images, compressed: compressed)
        try IDX.write(IDXArray(uint8: labels ?? (0..<n).map { UInt8($0 % 3) }, shape: [labels?.count ?? n]),
                      to: labelsURL, compressed: compressed)
        return (images, labelsURL)
    }

    func testLoadPairOfIDXFiles() throws {
        for compressed in [false, true] {
            let (images, labels) = try writeFixture(compressed: compressed)
            let ds = try IDXImageDataset.load(images: images, labels: labels, classes: classes)
            XCTAssertEqual(ds.count, 5)
            XCTAssertEqual(ds.imageShape, [1, 4, 3])
            XCTAssertEqual(ds.classes, classes)
            XCTAssertEqual(ds.classCount, 3)
            XCTAssertEqual(ds.labels, [0, 1, 2, 0, 1])
            XCTAssertEqual(ds.classCounts(), [2, 2, 1])
            XCTAssertEqual(Array(ds.pixels(at: 2)), (0..<12).map { UInt8(20 + $0) })

            let (image, label) = ds.example(at: 3)
            XCTAssertEqual(image.shape, [1, 4, 3])
            XCTAssertEqual(label, 0)
            XCTAssertEqual(image.scalars, (0..<12).map { Float(30 + $0) / 255 })

            let (batch, batchLabels) = ds.batch(indices: [4, 0, 4])
            XCTAssertEqual(batch.shape, [3, 1, 4, 3])
            XCTAssertEqual(batchLabels, [1, 0, 1])
            XCTAssertEqual(batch[0, 0, 1, 2], Float(40 + 5) / 255)
            XCTAssertEqual(batch[1, 0, 3, 0], Float(9) / 255)
            XCTAssertEqual(batch[2, 0, 0, 0], Float(40) / 255)
            XCTAssertEqual(ds.batch(range: 1..<3).labels, [1, 2])
        }
    }

    func testPixelScaleCoversZeroToOne() {
        let ds = InMemoryImageDataset(pixels: [0, 128, 255, 1], labels: [0], imageShape: [1, 2, 2], classes: ["x"])
        XCTAssertEqual(ds.example(at: 0).image.scalars, [0, Float(128) / 255, 1, Float(1) / 255])
    }

    func testCountMismatch() throws {
        let (images, labels) = try writeFixture(n: 5, labels: [0, 1, 2, 0], compressed: true)
        let err = assertDataError(try IDXImageDataset.load(images: images, labels: labels, classes: classes),
                                  mentioning: images.path) {
            if case .countMismatch(_, 5, _, 4) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains(labels.path) ?? false)
    }

    func testLabelOutOfRange() throws {
        let (images, labels) = try writeFixture(n: 5, labels: [0, 1, 2, 3, 0], compressed: false)
        let err = assertDataError(try IDXImageDataset.load(images: images, labels: labels, classes: classes),
                                  mentioning: labels.path) {
            if case .labelOutOfRange(_, 3, 3, 3) = $0 { return true } else { return false }
        }
        XCTAssertEqual(err?.file, labels.path)
    }

    func testWrongShapeAndElementType() throws {
        let (images, labels) = try writeFixture(compressed: false)
        let floatImages = dir.file("float-images")
        try IDX.write(IDXArray(float32: [Float](repeating: 0, count: 60), shape: [5, 4, 3]), to: floatImages)
        assertDataError(try IDXImageDataset.load(images: floatImages, labels: labels, classes: classes),
                        mentioning: floatImages.path) {
            if case .wrongElementType = $0 { return true } else { return false }
        }
        let flatImages = dir.file("flat-images")
        try IDX.write(IDXArray(uint8: [UInt8](repeating: 0, count: 60), shape: [5, 12]), to: flatImages)
        assertDataError(try IDXImageDataset.load(images: flatImages, labels: labels, classes: classes),
                        mentioning: flatImages.path) {
            if case .wrongShape(_, _, [5, 12]) = $0 { return true } else { return false }
        }
        let matrixLabels = dir.file("matrix-labels")
        try IDX.write(IDXArray(uint8: [0, 1, 2, 0, 1, 2], shape: [5 - 2, 2]), to: matrixLabels)
        assertDataError(try IDXImageDataset.load(images: images, labels: matrixLabels, classes: classes),
                        mentioning: matrixLabels.path) {
            if case .wrongShape = $0 { return true } else { return false }
        }
        // int32 labels are accepted; float labels are not.
        let intLabels = dir.file("int-labels")
        try IDX.write(IDXArray(int32: [2, 1, 0, 2, 1], shape: [5]), to: intLabels)
        XCTAssertEqual(try IDXImageDataset.load(images: images, labels: intLabels, classes: classes).labels, [2, 1, 0, 2, 1])
        let floatLabels = dir.file("float-labels")
        try IDX.write(IDXArray(float32: [0, 1, 2, 0, 1], shape: [5]), to: floatLabels)
        assertDataError(try IDXImageDataset.load(images: images, labels: floatLabels, classes: classes),
                        mentioning: floatLabels.path) {
            if case .wrongElementType = $0 { return true } else { return false }
        }
    }

    func testFourDimensionalImages() throws {
        let images = dir.file("rgb")
        let labels = dir.file("rgb-labels")
        try IDX.write(IDXArray(uint8: testBytes(2 * 3 * 2 * 2), shape: [2, 3, 2, 2]), to: images, compressed: true)
        try IDX.write(IDXArray(uint8: [1, 0], shape: [2]), to: labels)
        let ds = try IDXImageDataset.load(images: images, labels: labels, classes: classes)
        XCTAssertEqual(ds.imageShape, [3, 2, 2])
        XCTAssertEqual(ds.batch(indices: [0, 1]).images.shape, [2, 3, 2, 2])
    }

    func testMissingFilesInDirectory() {
        let err = assertDataError(try FashionMNIST.load(split: .test, directory: dir.url),
                                  mentioning: "t10k-images-idx3-ubyte.gz") {
            if case .missingFile = $0 { return true } else { return false }
        }
        XCTAssertEqual(err?.file, dir.file("t10k-images-idx3-ubyte.gz").path)
    }

    func testUncompressedFilesInDirectoryAreFound() throws {
        let pixels = testBytes(3 * 28 * 28)
        try IDX.write(IDXArray(uint8: pixels, shape: [3, 28, 28]), to: dir.file("train-images-idx3-ubyte"))
        try IDX.write(IDXArray(uint8: [9, 0, 5], shape: [3]), to: dir.file("train-labels-idx1-ubyte.gz"), compressed: true)
        let ds = try FashionMNIST.load(split: .train, directory: dir.url)
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.imageShape, [1, 28, 28])
        XCTAssertEqual(ds.labels, [9, 0, 5])
        XCTAssertEqual(ds.classes[9], "Ankle boot")
        XCTAssertEqual(ds.pixels, pixels)
    }

    func testSubsets() {
        let n = 50
        let ds = InMemoryImageDataset(pixels: (0..<n).map { UInt8($0) }, labels: (0..<n).map { $0 % 10 },
                                      imageShape: [1, 1, 1], classes: (0..<10).map(String.init))
        let first = ds.subset(7)
        XCTAssertEqual(first.pixels, (0..<7).map { UInt8($0) })
        XCTAssertEqual(first.labels, (0..<7).map { $0 % 10 })
        XCTAssertEqual(ds.subset(1_000).count, n)

        let r1 = ds.subset(10, seed: 42), r2 = ds.subset(10, seed: 42), r3 = ds.subset(10, seed: 43)
        XCTAssertEqual(r1.pixels, r2.pixels)
        XCTAssertNotEqual(r1.pixels, r3.pixels)
        XCTAssertEqual(Set(r1.pixels).count, 10, "distinct examples")
        XCTAssertEqual(r1.pixels, r1.pixels.sorted(), "original order kept")
        XCTAssertNotEqual(r1.pixels, (0..<10).map { UInt8($0) }, "random, not the first 10")
        for (p, l) in zip(r1.pixels, r1.labels) { XCTAssertEqual(Int(p) % 10, l) }

        let picked = ds.subset(indices: [5, 5, 1])
        XCTAssertEqual(picked.pixels, [5, 5, 1])
        XCTAssertEqual(picked.labels, [5, 5, 1])
    }

    func testBatchExtractionOfRandomIndices() {
        // Many batches of random (repeating) indices: each image is its pixels / 255 in NCHW order,
        // each label its own. (Its speed: `nsde bench data`.)
        let n = 2_000
        let pixels = testBytes(n * 784)
        let ds = InMemoryImageDataset(pixels: pixels, labels: (0..<n).map { $0 % 7 }, imageShape: [1, 28, 28], classes: (0..<7).map(String.init))
        var generator = PhiloxGenerator(seed: 3)
        for _ in 0..<20 {
            let indices = (0..<128).map { _ in generator.nextInt(below: n) }
            let (images, labels) = ds.batch(indices: indices)
            XCTAssertEqual(images.shape, [128, 1, 28, 28])
            XCTAssertEqual(labels, indices.map { $0 % 7 })
            for (b, i) in indices.enumerated() {
                let got = (0..<784).map { images.storage.pointer[b * 784 + $0] }
                XCTAssertEqual(got, pixels[i * 784 ..< (i + 1) * 784].map { Float($0) / 255 }, "image \(i) at \(b)")
            }
        }
    }
}

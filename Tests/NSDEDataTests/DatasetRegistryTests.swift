import Foundation
import XCTest
import NSDEData

final class DatasetRegistryTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    // MARK: - Names and descriptions

    func testNamesParseAndUnknownNamesListTheKnownOnes() throws {
        XCTAssertEqual(DatasetName.allCases.map(\.rawValue), ["fashion-mnist", "mnist", "cifar10", "cifar100", "stl10", "cifar10c"])
        for name in DatasetName.allCases { XCTAssertEqual(try DatasetName(parsing: name.rawValue), name) }
        let err = assertDataError(try DatasetName(parsing: "cifar-10"), mentioning: "'cifar-10'") {
            if case .unknownDataset(_, let known) = $0 { return known.count == 6 } else { return false }
        }
        XCTAssertTrue(err?.description.contains("fashion-mnist, mnist, cifar10, cifar100, stl10, cifar10c") ?? false)
        XCTAssertEqual(err?.file, "")
    }

    /// The paper's settings (paper-setup.md): crop padding 4 at 28/32 px and 8 at 96 px, no
    /// flip, batch 128 (64 for STL-10).
    func testInfoCarriesThePaperDefaults() {
        let expected: [DatasetName: (shape: [Int], classes: Int, padding: Int, batch: Int, train: Int?, test: Int)] = [
            .fashionMNIST: ([1, 28, 28], 10, 4, 128, 60_000, 10_000),
            .mnist: ([1, 28, 28], 10, 4, 128, 60_000, 10_000),
            .cifar10: ([3, 32, 32], 10, 4, 128, 50_000, 10_000),
            .cifar100: ([3, 32, 32], 100, 4, 128, 50_000, 10_000),
            .stl10: ([3, 96, 96], 10, 8, 64, 5_000, 8_000),
            .cifar10c: ([3, 32, 32], 10, 4, 128, nil, 10_000),
        ]
        for info in DatasetInfo.all {
            let e = expected[info.name]!
            XCTAssertEqual(info.imageShape, e.shape, "\(info.name)")
            XCTAssertEqual(info.channels, e.shape[0])
            XCTAssertEqual(info.imageSize, e.shape[1])
            XCTAssertEqual(info.classCount, e.classes, "\(info.name)")
            XCTAssertEqual(info.cropPadding, e.padding, "\(info.name)")
            XCTAssertFalse(info.horizontalFlip, "\(info.name): the paper does not flip")
            XCTAssertEqual(info.augmentation, Augmentation(cropPadding: e.padding), "\(info.name)")
            XCTAssertEqual(info.batchSize, e.batch, "\(info.name)")
            XCTAssertEqual(info.trainCount, e.train, "\(info.name)")
            XCTAssertEqual(info.testCount, e.test, "\(info.name)")
            XCTAssertEqual(info.name.info, info)
        }
        XCTAssertEqual(DatasetName.fashionMNIST.info.defaultDirectory?.path, "/usr/share/datasets/fashion-mnist")
        XCTAssertTrue(DatasetInfo.all.filter { $0.name != .fashionMNIST }.allSatisfy { $0.defaultDirectory == nil })
        XCTAssertEqual(DatasetName.cifar10c.info.splits, [.test])
    }

    // MARK: - Directory resolution

    func testDirectoryResolution() throws {
        XCTAssertEqual(try DatasetRegistry.directory(for: .cifar10, dataDirectory: dir.url.path).standardizedFileURL.path,
                       dir.url.standardizedFileURL.path)
        for name in [DatasetName.mnist, .cifar10, .cifar100, .stl10, .cifar10c] {
            for given in [nil, ""] as [String?] {
                let err = assertDataError(try DatasetRegistry.directory(for: name, dataDirectory: given),
                                          mentioning: "--data-dir") {
                    if case .dataDirectoryRequired(name.rawValue, name.info.expectedContents) = $0 { return true } else { return false }
                }
                XCTAssertTrue(err?.description.hasPrefix("\(name.rawValue) has no default location") ?? false)
            }
        }
        let nowhere = dir.file("nowhere").path
        let err = assertDataError(try DatasetRegistry.load(.stl10, split: .train, dataDirectory: nowhere), mentioning: nowhere) {
            if case .missingDirectory(_, "STL-10", _) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains("train_X.bin") ?? false)

        let fashion = FashionMNIST.defaultDirectory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: fashion.path, isDirectory: &isDirectory), isDirectory.boolValue {
            XCTAssertEqual(try DatasetRegistry.directory(for: .fashionMNIST, dataDirectory: nil), fashion)
        } else {
            assertDataError(try DatasetRegistry.directory(for: .fashionMNIST, dataDirectory: nil),
                            mentioning: "dataset-fashion-mnist") {
                if case .missingDirectory = $0 { return true } else { return false }
            }
        }
    }

    // MARK: - Loading every format by name

    func testLoadsEveryFormatByName() throws {
        let mnist = try dir.subdirectory("mnist")
        for split in DatasetSplit.allCases {
            let n = split == .train ? 3 : 2
            try IDX.write(IDXArray(uint8: testBytes(n * 784), shape: [n, 28, 28]),
                          to: mnist.appendingPathComponent("\(split.filePrefix)-images-idx3-ubyte.gz"), compressed: true)
            try IDX.write(IDXArray(uint8: (0..<n).map { UInt8($0) }, shape: [n]),
                          to: mnist.appendingPathComponent("\(split.filePrefix)-labels-idx1-ubyte.gz"), compressed: true)
        }
        let cifar10 = try dir.subdirectory("cifar10")
        for b in 1...5 { try writeFile(Fixtures.cifar10File(labels: [UInt8(b)]), cifar10, "data_batch_\(b).bin") }
        try writeFile(Fixtures.cifar10File(labels: [7, 8]), cifar10, "test_batch.bin")
        let cifar100 = try dir.subdirectory("cifar100")
        try writeFile(Fixtures.cifar100File(coarse: [3], fine: [77]), cifar100, "train.bin")
        let stl10 = try dir.subdirectory("stl10")
        try writeFile(Fixtures.stl10Images(2), stl10, "train_X.bin")
        try writeFile([10, 1], stl10, "train_y.bin")
        let cifar10c = try dir.subdirectory("cifar10c")
        try NumPy.write(Fixtures.cifar10cImages(5), to: cifar10c.appendingPathComponent("contrast.npy"))
        try NumPy.write(NumPyArray([UInt8](arrayLiteral: 0, 1, 2, 3, 4), shape: [5]), to: cifar10c.appendingPathComponent("labels.npy"))

        let loaded: [(DatasetName, DatasetSplit, URL, DatasetOptions, count: Int, labels: [Int])] = [
            (.mnist, .train, mnist, DatasetOptions(), 3, [0, 1, 2]),
            (.fashionMNIST, .test, mnist, DatasetOptions(), 2, [0, 1]),
            (.cifar10, .train, cifar10, DatasetOptions(), 5, [1, 2, 3, 4, 5]),
            (.cifar10, .test, cifar10, DatasetOptions(), 2, [7, 8]),
            (.cifar100, .train, cifar100, DatasetOptions(), 1, [77]),
            (.cifar100, .train, cifar100, DatasetOptions(cifar100Labels: .coarse), 1, [3]),
            (.stl10, .train, stl10, DatasetOptions(), 2, [9, 0]),
            (.cifar10c, .test, cifar10c, DatasetOptions(corruption: "contrast", severity: 4), 1, [3]),
        ]
        for (name, split, directory, options, count, labels) in loaded {
            let ds = try DatasetRegistry.load(named: name.rawValue, split: split, dataDirectory: directory.path, options: options)
            XCTAssertEqual(ds.count, count, "\(name) \(split)")
            XCTAssertEqual(ds.labels, labels, "\(name) \(split)")
            let info = name.info
            XCTAssertEqual(ds.imageShape, info.imageShape, "\(name)")
            // A training batch with the paper's augmentation has the documented shape and range.
            let loader = DataLoader(dataset: ds, batchSize: 2, seed: 1, augmentation: info.augmentation, prefetch: 0)
            for (images, _) in loader.epoch(0) {
                XCTAssertEqual(Array(images.shape.dropFirst()), info.imageShape)
                XCTAssertTrue(images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
            }
        }
    }

    func testMissingFilesNameTheFileAndWhatIsExpected() throws {
        let err = assertDataError(try DatasetRegistry.load(.mnist, split: .test, dataDirectory: dir.url.path),
                                  mentioning: dir.file("t10k-images-idx3-ubyte.gz").path) {
            if case .missingDatasetFile(_, "MNIST", _) = $0 { return true } else { return false }
        }
        XCTAssertTrue(err?.description.contains("gzip-compressed or not") ?? false)
        assertDataError(try DatasetRegistry.load(.cifar100, split: .test, dataDirectory: dir.url.path),
                        mentioning: dir.file("test.bin").path) {
            if case .missingDatasetFile = $0 { return true } else { return false }
        }
    }

    func testCIFAR10COptionsAndSplit() throws {
        let path = dir.url.path
        assertDataError(try DatasetRegistry.load(.cifar10c, split: .train, dataDirectory: path), mentioning: "no train split") {
            if case .splitUnavailable("CIFAR-10-C", "train", ["test"]) = $0 { return true } else { return false }
        }
        assertDataError(try DatasetRegistry.load(.cifar10c, split: .test, dataDirectory: path,
                                                 options: DatasetOptions(severity: 1)),
                        mentioning: "needs a corruption: expected one of gaussian_noise") {
            if case .optionRequired(_, "corruption", _) = $0 { return true } else { return false }
        }
        assertDataError(try DatasetRegistry.load(.cifar10c, split: .test, dataDirectory: path,
                                                 options: DatasetOptions(corruption: "fog")),
                        mentioning: "needs a severity") {
            if case .optionRequired(_, "severity", _) = $0 { return true } else { return false }
        }
        assertDataError(try DatasetRegistry.load(.cifar10c, split: .test, dataDirectory: path,
                                                 options: DatasetOptions(corruption: "haze", severity: 1)),
                        mentioning: "haze.npy") {
            if case .unknownCorruption = $0 { return true } else { return false }
        }
        assertDataError(try DatasetRegistry.load(.cifar10c, split: .test, dataDirectory: path,
                                                 options: DatasetOptions(corruption: "fog", severity: 9)),
                        mentioning: "fog.npy: severity 9 is out of range") {
            if case .severityOutOfRange = $0 { return true } else { return false }
        }
        assertDataError(try DatasetRegistry.load(.cifar10c, split: .test, dataDirectory: path,
                                                 options: DatasetOptions(corruption: "fog", severity: 2)),
                        mentioning: dir.file("fog.npy").path) {
            if case .missingDatasetFile = $0 { return true } else { return false }
        }
    }
}

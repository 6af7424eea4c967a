import Foundation

/// What a dataset is and how the paper trains on it: image shape, classes, official split
/// sizes, where its files live, and the augmentation and batch size of the authors' released
/// code (see `paper-setup.md`): random crop with zero padding 4 for 28 and 32 px images, 8 for
/// STL-10's 96 px; no horizontal flip; no mean/std normalisation (pixels in `[0, 1]`); batch 128
/// (64 for STL-10).
public struct DatasetInfo: Sendable, Equatable {
    /// The registry name.
    public let name: DatasetName
    /// The human-readable name, e.g. `"CIFAR-10"`.
    public let title: String
    /// Colour channels: 1 (grey) or 3 (RGB).
    public let channels: Int
    /// Image height and width in pixels (the images are square).
    public let imageSize: Int
    /// Number of classes (CIFAR-100: with the default fine labels).
    public let classCount: Int
    /// The splits the dataset has (CIFAR-10-C: test only).
    public let splits: [DatasetSplit]
    /// Number of training images in the official release; `nil` when there is no training split.
    public let trainCount: Int?
    /// Number of test images in the official release (CIFAR-10-C: per corruption and severity).
    public let testCount: Int
    /// The paper's random-crop zero padding in pixels (`Augmentation.cropPadding`).
    public let cropPadding: Int
    /// Whether the paper flips images horizontally at random (it does not, for any dataset).
    public let horizontalFlip: Bool
    /// The paper's training batch size.
    public let batchSize: Int
    /// Where the files are when no directory is given, or `nil` when a directory is required.
    public let defaultDirectory: URL?
    /// What the data directory must hold, for messages.
    public let expectedContents: String

    /// Shape of one image, `[C, H, W]`.
    public var imageShape: [Int] { [channels, imageSize, imageSize] }

    /// The paper's training augmentation: `Augmentation(cropPadding:horizontalFlip:)` from
    /// ``cropPadding`` and ``horizontalFlip``.
    public var augmentation: Augmentation { Augmentation(cropPadding: cropPadding, horizontalFlip: horizontalFlip) }

    /// The description of `name`.
    public static func of(_ name: DatasetName) -> DatasetInfo {
        switch name {
        case .fashionMNIST:
            return DatasetInfo(
                name: name, title: "Fashion-MNIST", channels: 1, imageSize: 28, classCount: 10,
                splits: [.train, .test], trainCount: 60_000, testCount: 10_000,
                cropPadding: 4, horizontalFlip: false, batchSize: 128,
                defaultDirectory: FashionMNIST.defaultDirectory,
                expectedContents: idxContents + " (the Debian package dataset-fashion-mnist installs them in "
                    + FashionMNIST.defaultDirectory.path + ")")
        case .mnist:
            return DatasetInfo(
                name: name, title: "MNIST", channels: 1, imageSize: 28, classCount: 10,
                splits: [.train, .test], trainCount: 60_000, testCount: 10_000,
                cropPadding: 4, horizontalFlip: false, batchSize: 128,
                defaultDirectory: nil, expectedContents: idxContents)
        case .cifar10:
            return DatasetInfo(
                name: name, title: "CIFAR-10", channels: 3, imageSize: 32, classCount: 10,
                splits: [.train, .test], trainCount: 50_000, testCount: 10_000,
                cropPadding: 4, horizontalFlip: false, batchSize: 128,
                defaultDirectory: nil, expectedContents: CIFAR10.expectedContents)
        case .cifar100:
            return DatasetInfo(
                name: name, title: "CIFAR-100", channels: 3, imageSize: 32, classCount: 100,
                splits: [.train, .test], trainCount: 50_000, testCount: 10_000,
                cropPadding: 4, horizontalFlip: false, batchSize: 128,
                defaultDirectory: nil, expectedContents: CIFAR100.expectedContents)
        case .stl10:
            return DatasetInfo(
                name: name, title: "STL-10", channels: 3, imageSize: 96, classCount: 10,
                splits: [.train, .test], trainCount: 5_000, testCount: 8_000,
                cropPadding: 8, horizontalFlip: false, batchSize: 64,
                defaultDirectory: nil, expectedContents: STL10.expectedContents)
        case .cifar10c:
            return DatasetInfo(
                name: name, title: "CIFAR-10-C", channels: 3, imageSize: 32, classCount: 10,
                splits: [.test], trainCount: nil, testCount: 10_000,
                cropPadding: 4, horizontalFlip: false, batchSize: 128,
                defaultDirectory: nil, expectedContents: CIFAR10C.expectedContents)
        }
    }

    /// The descriptions of every dataset, in ``DatasetName/allCases`` order.
    public static var all: [DatasetInfo] { DatasetName.allCases.map(of) }

    private static let idxContents =
        "the IDX files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
        + "and t10k-labels-idx1-ubyte.gz (gzip-compressed or not)"
}

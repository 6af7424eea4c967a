import Foundation

/// Which half of a dataset with a fixed train/test split to load.
public enum DatasetSplit: String, Sendable, CaseIterable {
    /// The training set (files prefixed `train-`).
    case train
    /// The test set (files prefixed `t10k-`).
    case test

    /// The IDX file-name prefix used by MNIST and Fashion-MNIST: `"train"` or `"t10k"`.
    public var filePrefix: String { self == .train ? "train" : "t10k" }
}

/// Loading labelled image datasets stored as a pair of IDX files (an images file and a labels
/// file), such as MNIST and Fashion-MNIST.
public enum IDXImageDataset {
    /// Loads an images file and a labels file into an ``InMemoryImageDataset``.
    ///
    /// The images file must hold `uint8` pixels of shape `[n, H, W]` (loaded as `[n, 1, H, W]`) or
    /// `[n, C, H, W]`; the labels file an integer array of shape `[n]` with values in
    /// `0..<classes.count`. Either file may be gzip-compressed (detected from its content).
    ///
    /// - Parameters:
    ///   - images: URL of the images IDX file.
    ///   - labels: URL of the labels IDX file.
    ///   - classes: the class names, indexed by label.
    /// - Throws: ``DataError``: any file or format error of ``IDX/read(contentsOf:)``, plus
    ///   `wrongShape`, `wrongElementType`, `countMismatch` and `labelOutOfRange`.
    public static func load(images: URL, labels: URL, classes: [String]) throws -> InMemoryImageDataset {
        let imageArray = try IDX.read(contentsOf: images)
        let labelArray = try IDX.read(contentsOf: labels)

        guard let pixels = imageArray.uint8Values else {
            throw DataError.wrongElementType(file: images.path, expected: "uint8 pixels",
                                             found: imageArray.elementType.description)
        }
        let imageShape: [Int]
        switch imageArray.shape.count {
        case 3: imageShape = [1, imageArray.shape[1], imageArray.shape[2]]
        case 4: imageShape = Array(imageArray.shape[1...])
        default:
            throw DataError.wrongShape(file: images.path, expected: "[n, H, W] or [n, C, H, W]", found: imageArray.shape)
        }
        guard imageShape.allSatisfy({ $0 > 0 }) else {
            throw DataError.wrongShape(file: images.path, expected: "non-empty images", found: imageArray.shape)
        }

        guard labelArray.shape.count == 1 else {
            throw DataError.wrongShape(file: labels.path, expected: "[n]", found: labelArray.shape)
        }
        guard let labelValues = labelArray.integers() else {
            throw DataError.wrongElementType(file: labels.path, expected: "integer labels",
                                             found: labelArray.elementType.description)
        }
        let n = imageArray.shape[0]
        guard n == labelValues.count else {
            throw DataError.countMismatch(imagesFile: images.path, imageCount: n,
                                          labelsFile: labels.path, labelCount: labelValues.count)
        }
        if let bad = labelValues.firstIndex(where: { $0 < 0 || $0 >= classes.count }) {
            throw DataError.labelOutOfRange(file: labels.path, index: bad, label: labelValues[bad],
                                            classCount: classes.count)
        }
        return InMemoryImageDataset(pixels: pixels, labels: labelValues, imageShape: imageShape, classes: classes)
    }

    /// The URLs of the images and labels files of `split` in an MNIST-style directory:
    /// `<prefix>-images-idx3-ubyte.gz` and `<prefix>-labels-idx1-ubyte.gz`, where `prefix` is
    /// `train` or `t10k`. For each file the `.gz` name is used when it exists, else the
    /// uncompressed name when that exists, else the `.gz` name (so the missing-file error names it).
    public static func files(split: DatasetSplit, directory: URL) -> (images: URL, labels: URL) {
        func pick(_ base: String) -> URL {
            let gz = directory.appendingPathComponent(base + ".gz")
            let raw = directory.appendingPathComponent(base)
            if FileManager.default.fileExists(atPath: gz.path) { return gz }
            if FileManager.default.fileExists(atPath: raw.path) { return raw }
            return gz
        }
        return (pick("\(split.filePrefix)-images-idx3-ubyte"), pick("\(split.filePrefix)-labels-idx1-ubyte"))
    }
}

/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 grey 28x28 images of clothing in 10
/// classes, 60,000 for training and 10,000 for testing, 7,000 per class.
///
/// ```swift
/// let train = try FashionMNIST.load(split: .train)   // [60000, 1, 28, 28]
/// let test = try FashionMNIST.load(split: .test)     // [10000, 1, 28, 28]
/// ```
public enum FashionMNIST {
    /// The split selector, ``DatasetSplit`` (`.train` or `.test`).
    public typealias Split = DatasetSplit

    /// Where the Debian package `dataset-fashion-mnist` installs the files.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// The class names, indexed by label.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Loads a split as an ``InMemoryImageDataset`` of shape `[n, 1, 28, 28]` (n = 60,000 for
    /// `.train`, 10,000 for `.test` with the official files) with ``classNames``.
    ///
    /// - Parameters:
    ///   - split: `.train` or `.test`.
    ///   - directory: the directory holding the four IDX files (gzip-compressed or not).
    /// - Throws: ``DataError`` naming the offending file.
    public static func load(split: DatasetSplit, directory: URL = defaultDirectory) throws -> InMemoryImageDataset {
        let (images, labels) = IDXImageDataset.files(split: split, directory: directory)
        return try IDXImageDataset.load(images: images, labels: labels, classes: classNames)
    }
}

/// MNIST handwritten digits (LeCun et al. 1998): same file format and layout as
/// ``FashionMNIST``, classes `"0"` ... `"9"`.
public enum MNIST {
    /// A conventional install location; pass `directory:` when the files are elsewhere.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/mnist")

    /// The class names, indexed by label: `"0"` ... `"9"`.
    public static let classNames = (0..<10).map(String.init)

    /// Loads a split as an ``InMemoryImageDataset`` of shape `[n, 1, 28, 28]`.
    ///
    /// - Throws: ``DataError`` naming the offending file.
    public static func load(split: DatasetSplit, directory: URL = defaultDirectory) throws -> InMemoryImageDataset {
        let (images, labels) = IDXImageDataset.files(split: split, directory: directory)
        return try IDXImageDataset.load(images: images, labels: labels, classes: classNames)
    }
}

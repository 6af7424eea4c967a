import Foundation

/// Settings that only some datasets use, for ``DatasetRegistry/load(_:split:dataDirectory:options:)``.
public struct DatasetOptions: Sendable, Equatable {
    /// CIFAR-100: fine (100 classes, default) or coarse (20) labels.
    public var cifar100Labels: CIFAR100.LabelKind
    /// CIFAR-10-C: the corruption's name, e.g. `"gaussian_noise"` (required for `cifar10c`).
    public var corruption: String?
    /// CIFAR-10-C: the severity, 1...5 (required for `cifar10c`).
    public var severity: Int?

    /// - Parameters:
    ///   - cifar100Labels: `.fine` (default) or `.coarse`.
    ///   - corruption: CIFAR-10-C corruption name (see ``CIFAR10C/Corruption``).
    ///   - severity: CIFAR-10-C severity, 1...5.
    public init(cifar100Labels: CIFAR100.LabelKind = .fine, corruption: String? = nil, severity: Int? = nil) {
        self.cifar100Labels = cifar100Labels
        self.corruption = corruption
        self.severity = severity
    }
}

/// Loading datasets by name, with `--data-dir` resolution, for the command line.
///
/// ```swift
/// let info = DatasetName.cifar10.info                    // 3x32x32, 10 classes, crop padding 4
/// let train = try DatasetRegistry.load(.cifar10, split: .train, dataDirectory: "/data/cifar10")
/// let loader = DataLoader(dataset: train, batchSize: info.batchSize, seed: 0, dropLast: true,
///                         augmentation: info.augmentation)
/// ```
///
/// Directory resolution: the given directory (`~` expanded; an empty string counts as none),
/// else the dataset's ``DatasetInfo/defaultDirectory`` (only Fashion-MNIST has one), else
/// ``DataError/dataDirectoryRequired(dataset:expected:)``. The directory must exist
/// (``DataError/missingDirectory(directory:dataset:expected:)``) and hold the dataset's files
/// (``DataError/missingDatasetFile(file:dataset:expected:)`` names the first one absent); both
/// messages say what the directory should hold.
public enum DatasetRegistry {
    /// The data directory to use for `name`.
    ///
    /// - Parameters:
    ///   - name: the dataset.
    ///   - dataDirectory: the `--data-dir` value, or `nil` when not given.
    /// - Returns: an existing directory.
    /// - Throws: ``DataError/dataDirectoryRequired(dataset:expected:)`` when none is given and
    ///   the dataset has no default; ``DataError/missingDirectory(directory:dataset:expected:)``.
    public static func directory(for name: DatasetName, dataDirectory: String?) throws -> URL {
        let info = name.info
        let url: URL
        if let given = dataDirectory, !given.isEmpty {
            url = URL(fileURLWithPath: NSString(string: given).expandingTildeInPath, isDirectory: true)
        } else if let fallback = info.defaultDirectory {
            url = fallback
        } else {
            throw DataError.dataDirectoryRequired(dataset: name.rawValue, expected: info.expectedContents)
        }
        try DatasetFiles.requireDirectory(url, dataset: info.title, expected: info.expectedContents)
        return url
    }

    /// Loads a split of the dataset called `name`; see ``load(_:split:dataDirectory:options:)``.
    ///
    /// - Throws: ``DataError/unknownDataset(name:known:)``, then the errors of
    ///   ``load(_:split:dataDirectory:options:)``.
    public static func load(named name: String, split: DatasetSplit, dataDirectory: String? = nil,
                            options: DatasetOptions = DatasetOptions()) throws -> InMemoryImageDataset {
        try load(DatasetName(parsing: name), split: split, dataDirectory: dataDirectory, options: options)
    }

    /// Loads a split of a dataset from its data directory.
    ///
    /// Every loader returns an ``InMemoryImageDataset`` whose batches are float32
    /// `[batch, channels, height, width]` in `[0, 1]`, with ``DatasetInfo/imageShape`` images.
    ///
    /// - Parameters:
    ///   - name: the dataset.
    ///   - split: `.train` or `.test` (`cifar10c` has only `.test`).
    ///   - dataDirectory: the `--data-dir` value, or `nil` for the default (Fashion-MNIST only).
    ///   - options: CIFAR-100 label kind; CIFAR-10-C corruption and severity.
    /// - Throws: ``DataError``: `splitUnavailable`, `optionRequired` (CIFAR-10-C without a
    ///   corruption or severity), `unknownCorruption`, `severityOutOfRange`, the directory errors
    ///   of ``directory(for:dataDirectory:)``, `missingDatasetFile`, and each format's errors.
    public static func load(_ name: DatasetName, split: DatasetSplit, dataDirectory: String? = nil,
                            options: DatasetOptions = DatasetOptions()) throws -> InMemoryImageDataset {
        let info = name.info
        guard info.splits.contains(split) else {
            throw DataError.splitUnavailable(dataset: info.title, split: split.rawValue,
                                             available: info.splits.map(\.rawValue))
        }
        if name == .cifar10c {
            guard let corruption = options.corruption else {
                throw DataError.optionRequired(
                    dataset: info.title, option: "corruption",
                    expected: "one of " + CIFAR10C.Corruption.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard let severity = options.severity else {
                throw DataError.optionRequired(dataset: info.title, option: "severity",
                                               expected: "an integer in 1...5")
            }
            let known = try CIFAR10C.corruption(named: corruption)
            guard CIFAR10C.severities.contains(severity) else {
                throw DataError.severityOutOfRange(file: known.fileName, severity: severity, valid: CIFAR10C.severities)
            }
            let dir = try directory(for: name, dataDirectory: dataDirectory)
            return try CIFAR10C.load(directory: dir, corruption: known, severity: severity)
        }
        let dir = try directory(for: name, dataDirectory: dataDirectory)
        switch name {
        case .fashionMNIST, .mnist:
            let (images, labels) = IDXImageDataset.files(split: split, directory: dir)
            try DatasetFiles.requireFiles([images, labels], dataset: info.title, expected: info.expectedContents)
            return name == .mnist ? try MNIST.load(split: split, directory: dir)
                                  : try FashionMNIST.load(split: split, directory: dir)
        case .cifar10:
            return try CIFAR10.load(split: split, directory: dir)
        case .cifar100:
            return try CIFAR100.load(split: split, directory: dir, labels: options.cifar100Labels)
        case .stl10:
            return try STL10.load(split: split, directory: dir)
        case .cifar10c:
            preconditionFailure("handled above")
        }
    }
}

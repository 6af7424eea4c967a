import Foundation

/// CIFAR-10 (Krizhevsky 2009), binary version: 60,000 colour 32x32 images in 10 classes,
/// 50,000 for training (`data_batch_1.bin` ... `data_batch_5.bin`, 10,000 each) and 10,000 for
/// testing (`test_batch.bin`).
///
/// Each record is 1 label byte (0...9) and 3,072 pixel bytes (see ``CIFARRecordLayout``). Images
/// load as an ``InMemoryImageDataset`` of shape `[n, 3, 32, 32]` whose batches are float32 NCHW
/// in `[0, 1]` (`pixel / 255`, no mean/std normalisation, as in the paper's released code).
///
/// ```swift
/// let train = try CIFAR10.load(split: .train, directory: URL(fileURLWithPath: "/data/cifar10"))
/// // train.count == 50_000, train.imageShape == [3, 32, 32]
/// ```
public enum CIFAR10 {
    /// The class names of the official release (`batches.meta.txt`), indexed by label.
    public static let classNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]

    /// The record layout: 1 label byte, 10 classes.
    public static let layout = CIFARRecordLayout(name: "CIFAR-10", labelBytes: 1, labelOffset: 0, classCount: 10)

    /// The folder the official archive `cifar-10-binary.tar.gz` extracts to; ``load(split:directory:)``
    /// looks inside it when `directory` itself lacks the files.
    public static let subdirectory = "cifar-10-batches-bin"

    /// The optional class-names file, one name per line.
    public static let classNamesFile = "batches.meta.txt"

    /// What a CIFAR-10 directory must hold, for error messages.
    public static let expectedContents =
        "the CIFAR-10 binary version: data_batch_1.bin ... data_batch_5.bin and test_batch.bin "
        + "(records of 1 label byte + 3072 pixel bytes), directly or in \(subdirectory)/"

    /// The file names of `split`: `data_batch_1.bin` ... `data_batch_5.bin` or `test_batch.bin`.
    public static func fileNames(split: DatasetSplit) -> [String] {
        split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
    }

    /// The directory holding the files: `directory`, or `directory/cifar-10-batches-bin` when
    /// only that holds them.
    public static func resolvedDirectory(_ directory: URL) -> URL {
        DatasetFiles.resolve(directory, subdirectory: subdirectory, marker: "test_batch.bin")
    }

    /// Loads a split from a directory holding the binary files (or their `cifar-10-batches-bin`
    /// folder). Class names come from `batches.meta.txt` when present, else ``classNames``.
    ///
    /// - Parameters:
    ///   - split: `.train` (5 files, 50,000 images) or `.test` (1 file, 10,000 images).
    ///   - directory: the data directory.
    /// - Returns: an ``InMemoryImageDataset`` of shape `[n, 3, 32, 32]`, labels in `0..<10`.
    /// - Throws: ``DataError``: `missingDirectory`, `missingDatasetFile` (naming the first absent
    ///   file and what is expected), `wrongClassNames`, and the format errors of
    ///   ``CIFARRecordLayout/load(files:classes:)``.
    public static func load(split: DatasetSplit, directory: URL) throws -> InMemoryImageDataset {
        try DatasetFiles.requireDirectory(directory, dataset: "CIFAR-10", expected: expectedContents)
        let dir = resolvedDirectory(directory)
        let files = fileNames(split: split).map { dir.appendingPathComponent($0) }
        try DatasetFiles.requireFiles(files, dataset: "CIFAR-10", expected: expectedContents)
        let classes = try DatasetFiles.classNames(dir.appendingPathComponent(classNamesFile), count: 10) ?? classNames
        return try layout.load(files: files, classes: classes)
    }

    /// Loads the given CIFAR-10 record files, in order.
    ///
    /// - Parameters:
    ///   - files: files of 1 + 3,072-byte records.
    ///   - classes: the 10 class names (default ``classNames``).
    /// - Throws: the errors of ``CIFARRecordLayout/load(files:classes:)``.
    public static func load(files: [URL], classes: [String] = classNames) throws -> InMemoryImageDataset {
        try layout.load(files: files, classes: classes)
    }
}

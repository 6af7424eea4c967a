import Foundation

/// STL-10 (Coates, Ng & Lee 2011), binary version: colour 96x96 images in 10 classes, 5,000 for
/// training (`train_X.bin`, `train_y.bin`) and 8,000 for testing (`test_X.bin`, `test_y.bin`).
/// The 100,000 unlabelled images are not used.
///
/// `*_X.bin` holds the images back to back with no header, 3 x 96 x 96 = 27,648 bytes each: the
/// red, green and blue planes, each 96x96 stored **column-major** (Fortran order: byte
/// `x * 96 + y` of a plane is the pixel in row `y`, column `x`). The loader transposes each plane
/// to row-major. `*_y.bin` holds one byte per image, the label 1...10, loaded as 0...9.
///
/// Images load as an ``InMemoryImageDataset`` of shape `[n, 3, 96, 96]` whose batches are float32
/// NCHW in `[0, 1]` (`pixel / 255`).
public enum STL10 {
    /// The class names of the official release (`class_names.txt`), indexed by label 0...9
    /// (stored labels 1...10).
    public static let classNames = [
        "airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck",
    ]

    /// Image side in pixels (96).
    public static let side = 96
    /// Shape of one image, `[C, H, W]` = `[3, 96, 96]`.
    public static let imageShape = [3, 96, 96]
    /// Bytes per image in `*_X.bin`: 3 x 96 x 96 = 27,648.
    public static let imageBytes = 3 * 96 * 96
    /// The range of labels stored in `*_y.bin`.
    public static let storedLabels = 1...10

    /// The folder the official archive `stl10_binary.tar.gz` extracts to;
    /// ``load(split:directory:)`` looks inside it when `directory` itself lacks the files.
    public static let subdirectory = "stl10_binary"

    /// The optional class-names file, one name per line.
    public static let classNamesFile = "class_names.txt"

    /// What an STL-10 directory must hold, for error messages.
    public static let expectedContents =
        "the STL-10 binary version: train_X.bin, train_y.bin, test_X.bin and test_y.bin "
        + "(uint8 3x96x96 column-major images, labels 1..10), directly or in \(subdirectory)/"

    /// The images and labels file names of `split`, e.g. `("train_X.bin", "train_y.bin")`.
    public static func fileNames(split: DatasetSplit) -> (images: String, labels: String) {
        ("\(split.rawValue)_X.bin", "\(split.rawValue)_y.bin")
    }

    /// The directory holding the files: `directory`, or `directory/stl10_binary` when only that
    /// holds them.
    public static func resolvedDirectory(_ directory: URL) -> URL {
        DatasetFiles.resolve(directory, subdirectory: subdirectory, marker: "test_X.bin")
    }

    /// Loads a split from a directory holding the binary files (or their `stl10_binary`
    /// folder). Class names come from `class_names.txt` when present, else ``classNames``.
    ///
    /// - Parameters:
    ///   - split: `.train` (5,000 images) or `.test` (8,000).
    ///   - directory: the data directory.
    /// - Returns: an ``InMemoryImageDataset`` of shape `[n, 3, 96, 96]`, labels in `0..<10`.
    /// - Throws: ``DataError``: `missingDirectory`, `missingDatasetFile`, `wrongClassNames`, and
    ///   the format errors of ``load(images:labels:classes:)``.
    public static func load(split: DatasetSplit, directory: URL) throws -> InMemoryImageDataset {
        try DatasetFiles.requireDirectory(directory, dataset: "STL-10", expected: expectedContents)
        let dir = resolvedDirectory(directory)
        let names = fileNames(split: split)
        let images = dir.appendingPathComponent(names.images)
        let labels = dir.appendingPathComponent(names.labels)
        try DatasetFiles.requireFiles([images, labels], dataset: "STL-10", expected: expectedContents)
        let classes = try DatasetFiles.classNames(dir.appendingPathComponent(classNamesFile), count: 10) ?? classNames
        return try load(images: images, labels: labels, classes: classes)
    }

    /// Loads an images file and a labels file in the STL-10 binary format.
    ///
    /// - Parameters:
    ///   - images: `n` images of 27,648 bytes, planes column-major.
    ///   - labels: `n` label bytes, each 1...10.
    ///   - classes: the 10 class names (default ``classNames``).
    /// - Returns: an ``InMemoryImageDataset`` of shape `[n, 3, 96, 96]` (row-major planes), labels
    ///   `stored - 1` in `0..<10`.
    /// - Throws: ``DataError``: `missingFile`/`ioFailure`; `notWholeRecords` when the images
    ///   file's size is not a positive multiple of 27,648; `countMismatch` when the labels file
    ///   does not hold one byte per image; `labelNotInRange` (file, index, value) for a stored
    ///   label of 0 or above 10.
    /// - Complexity: one read per file and one in-cache 96x96 transpose per plane.
    public static func load(images: URL, labels: URL, classes: [String] = classNames) throws -> InMemoryImageDataset {
        precondition(classes.count == 10, "STL10.load: expected 10 class names, got \(classes.count)")
        let imageData = try DatasetFiles.mapped(images)
        let labelData = try readFile(labels)
        guard imageData.count > 0 && imageData.count % imageBytes == 0 else {
            throw DataError.notWholeRecords(file: images.path, record: "STL-10 image (3x96x96 bytes)",
                                            recordBytes: imageBytes, foundBytes: imageData.count)
        }
        let n = imageData.count / imageBytes
        guard labelData.count == n else {
            throw DataError.countMismatch(imagesFile: images.path, imageCount: n,
                                          labelsFile: labels.path, labelCount: labelData.count)
        }
        var labelValues = [Int]()
        labelValues.reserveCapacity(n)
        for (i, stored) in labelData.enumerated() {
            guard storedLabels.contains(Int(stored)) else {
                throw DataError.labelNotInRange(file: labels.path, index: i, label: Int(stored), valid: storedLabels)
            }
            labelValues.append(Int(stored) - 1)
        }

        let side = self.side, plane = side * side
        let pixels = [UInt8](unsafeUninitializedCapacity: n * imageBytes) { dst, initialized in
            imageData.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let src = raw.bindMemory(to: UInt8.self).baseAddress!
                let out = dst.baseAddress!
                for p in 0..<(3 * n) {  // every plane of every image
                    let s = src + p * plane, d = out + p * plane
                    for x in 0..<side {
                        let column = s + x * side
                        for y in 0..<side { d[y * side + x] = column[y] }
                    }
                }
            }
            initialized = n * imageBytes
        }
        return InMemoryImageDataset(pixels: pixels, labels: labelValues, imageShape: imageShape, classes: classes)
    }
}

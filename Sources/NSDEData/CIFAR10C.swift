import Foundation

/// CIFAR-10-C (Hendrycks & Dietterich 2019): the 10,000 CIFAR-10 test images under 19 common
/// corruptions at 5 severities, the robustness benchmark of the paper's Table 2.
///
/// The release is a directory of NumPy files: one `<corruption>.npy` per corruption, uint8 of
/// shape `[50000, 32, 32, 3]` (NHWC, RGB) holding severity `s` in rows `(s - 1) * 10000 ..<
/// s * 10000`, and `labels.npy` (uint8 or int64, shape `[50000]`: the test labels tiled 5
/// times). ``load(directory:corruption:severity:)`` reads one severity block and transposes it to
/// NCHW; files with `5 * m` rows for any `m > 0` are accepted (blocks of `m`), so small test
/// files work too.
///
/// ```swift
/// let fog3 = try CIFAR10C.load(directory: dir, corruption: .fog, severity: 3)
/// // fog3.count == 10_000, fog3.imageShape == [3, 32, 32]
/// ```
///
/// References: D. Hendrycks and T. Dietterich, "Benchmarking Neural Network Robustness to Common
/// Corruptions and Perturbations", ICLR 2019.
public enum CIFAR10C {
    /// The corruptions of CIFAR-10-C, named as their files (`gaussian_noise.npy`, ...).
    public enum Corruption: String, Sendable, CaseIterable, CustomStringConvertible {
        // Noise
        /// Additive Gaussian noise.
        case gaussianNoise = "gaussian_noise"
        /// Poisson (shot) noise.
        case shotNoise = "shot_noise"
        /// Salt-and-pepper noise.
        case impulseNoise = "impulse_noise"
        // Blur
        /// Convolution with a disk.
        case defocusBlur = "defocus_blur"
        /// Blur with local pixel shuffling.
        case glassBlur = "glass_blur"
        /// Directional blur.
        case motionBlur = "motion_blur"
        /// Average of zoomed copies.
        case zoomBlur = "zoom_blur"
        // Weather
        /// Snow flakes.
        case snow
        /// Frost texture overlay.
        case frost
        /// Plasma-fractal fog.
        case fog
        // Digital
        /// Brightness increase in HSV.
        case brightness
        /// Contrast reduction.
        case contrast
        /// Affine plus elastic displacement.
        case elasticTransform = "elastic_transform"
        /// Down- then up-sampling.
        case pixelate
        /// JPEG re-encoding.
        case jpegCompression = "jpeg_compression"
        // Validation corruptions
        /// Multiplicative Gaussian noise (validation set).
        case speckleNoise = "speckle_noise"
        /// Gaussian filter (validation set).
        case gaussianBlur = "gaussian_blur"
        /// Water or mud spatter (validation set).
        case spatter
        /// Saturation change in HSV (validation set).
        case saturate

        /// The 15 benchmark corruptions (the paper's Table 2), in the release's order.
        public static let benchmark: [Corruption] = [
            .gaussianNoise, .shotNoise, .impulseNoise, .defocusBlur, .glassBlur, .motionBlur, .zoomBlur,
            .snow, .frost, .fog, .brightness, .contrast, .elasticTransform, .pixelate, .jpegCompression,
        ]
        /// The 4 extra "validation" corruptions.
        public static let validation: [Corruption] = [.speckleNoise, .gaussianBlur, .spatter, .saturate]

        /// Whether this is one of the 15 benchmark corruptions.
        public var isBenchmark: Bool { Self.benchmark.contains(self) }
        /// The file name, `<name>.npy`.
        public var fileName: String { rawValue + ".npy" }
        /// The name as in the file name, e.g. `"gaussian_noise"`.
        public var description: String { rawValue }
    }

    /// The valid severities, 1 (mildest) ... 5.
    public static let severities = 1...5
    /// The class names (those of ``CIFAR10``).
    public static let classNames = CIFAR10.classNames
    /// Shape of one image as loaded, `[C, H, W]` = `[3, 32, 32]`.
    public static let imageShape = [3, 32, 32]
    /// The labels file, `labels.npy`.
    public static let labelsFile = "labels.npy"
    /// The folder the official archive `CIFAR-10-C.tar` extracts to; the loader looks inside it
    /// when `directory` itself lacks `labels.npy`.
    public static let subdirectory = "CIFAR-10-C"

    /// What a CIFAR-10-C directory must hold, for error messages.
    public static let expectedContents =
        "<corruption>.npy (uint8 [50000, 32, 32, 3], 5 severities x 10000 images) and labels.npy, "
        + "directly or in \(subdirectory)/"

    /// The directory holding the files: `directory`, or `directory/CIFAR-10-C` when only that
    /// holds them.
    public static func resolvedDirectory(_ directory: URL) -> URL {
        DatasetFiles.resolve(directory, subdirectory: subdirectory, marker: labelsFile)
    }

    /// The corruption called `name` (its file name without `.npy`, e.g. `"gaussian_noise"`).
    ///
    /// - Parameters:
    ///   - name: the corruption's name.
    ///   - file: where it was to be read from, for the error (default: `"<name>.npy"`).
    /// - Throws: ``DataError/unknownCorruption(file:name:known:)`` listing the 19 names.
    public static func corruption(named name: String, file: String? = nil) throws -> Corruption {
        guard let c = Corruption(rawValue: name) else {
            throw DataError.unknownCorruption(file: file ?? "\(name).npy", name: name,
                                              known: Corruption.allCases.map(\.rawValue))
        }
        return c
    }

    /// Loads one corruption at one severity from a CIFAR-10-C directory (or its `CIFAR-10-C`
    /// folder).
    ///
    /// - Parameters:
    ///   - directory: the data directory.
    ///   - corruption: which corruption.
    ///   - severity: 1...5.
    /// - Returns: an ``InMemoryImageDataset`` of the 10,000 images of that severity (with the
    ///   official files), shape `[n, 3, 32, 32]`, labels in `0..<10`, ``classNames``.
    /// - Throws: ``DataError``: `severityOutOfRange`, `missingDirectory`, `missingDatasetFile`,
    ///   and the errors of ``load(images:labels:severity:)``.
    public static func load(directory: URL, corruption: Corruption, severity: Int) throws -> InMemoryImageDataset {
        let dir = resolvedDirectory(directory)
        let images = dir.appendingPathComponent(corruption.fileName)
        guard severities.contains(severity) else {
            throw DataError.severityOutOfRange(file: images.path, severity: severity, valid: severities)
        }
        try DatasetFiles.requireDirectory(directory, dataset: "CIFAR-10-C", expected: expectedContents)
        let labels = dir.appendingPathComponent(labelsFile)
        try DatasetFiles.requireFiles([images, labels], dataset: "CIFAR-10-C", expected: expectedContents)
        return try load(images: images, labels: labels, severity: severity)
    }

    /// Loads the corruption called `corruptionName` at one severity; see
    /// ``load(directory:corruption:severity:)``.
    ///
    /// - Throws: ``DataError/unknownCorruption(file:name:known:)`` for a name outside
    ///   ``Corruption``, then the errors of ``load(directory:corruption:severity:)``.
    public static func load(directory: URL, corruptionName: String, severity: Int) throws -> InMemoryImageDataset {
        let file = resolvedDirectory(directory).appendingPathComponent(corruptionName + ".npy").path
        return try load(directory: directory, corruption: corruption(named: corruptionName, file: file), severity: severity)
    }

    /// Loads severity `severity` from a corruption file and a labels file.
    ///
    /// Reads only the severity's block of the (memory-mapped) images file and converts it from
    /// NHWC to NCHW: `pixels[i, c, y, x] = file[(s - 1) * m + i, y, x, c]`.
    ///
    /// - Parameters:
    ///   - images: a `.npy` of uint8, shape `[5 * m, 32, 32, 3]`.
    ///   - labels: a `.npy` of integers (uint8, int64, ...), shape `[5 * m]`, values in `0..<10`.
    ///   - severity: 1...5.
    /// - Returns: an ``InMemoryImageDataset`` of `m` images of shape `[3, 32, 32]`.
    /// - Throws: ``DataError``: `severityOutOfRange`; the `.npy` errors of
    ///   ``NumPy/read(contentsOf:)``; `wrongElementType` (images not uint8, labels not integers);
    ///   `wrongShape` (images not `[5m, 32, 32, 3]` with `m > 0`, labels not one-dimensional);
    ///   `countMismatch`; `labelOutOfRange` (with the index in `labels.npy`).
    public static func load(images: URL, labels: URL, severity: Int) throws -> InMemoryImageDataset {
        guard severities.contains(severity) else {
            throw DataError.severityOutOfRange(file: images.path, severity: severity, valid: severities)
        }
        let (header, data) = try NumPy.mapped(contentsOf: images)
        guard header.dtype == .uint8 else {
            throw DataError.wrongElementType(file: images.path, expected: "uint8 pixels (|u1)", found: header.descr)
        }
        let shape = header.shape
        guard shape.count == 4, shape[1] == 32, shape[2] == 32, shape[3] == 3, shape[0] > 0, shape[0] % 5 == 0 else {
            throw DataError.wrongShape(
                file: images.path,
                expected: "[5 * m, 32, 32, 3] (5 severities x m images, 32x32 RGB, NHWC), m > 0", found: shape)
        }
        let labelArray = try NumPy.read(contentsOf: labels)
        guard labelArray.shape.count == 1 else {
            throw DataError.wrongShape(file: labels.path, expected: "[n] (one label per image)", found: labelArray.shape)
        }
        guard let allLabels = labelArray.integers() else {
            throw DataError.wrongElementType(file: labels.path, expected: "integer labels", found: labelArray.dtype.descr)
        }
        guard allLabels.count == shape[0] else {
            throw DataError.countMismatch(imagesFile: images.path, imageCount: shape[0],
                                          labelsFile: labels.path, labelCount: allLabels.count)
        }
        let m = shape[0] / 5
        let first = (severity - 1) * m
        let blockLabels = Array(allLabels[first ..< first + m])
        if let bad = blockLabels.firstIndex(where: { $0 < 0 || $0 >= 10 }) {
            throw DataError.labelOutOfRange(file: labels.path, index: first + bad, label: blockLabels[bad], classCount: 10)
        }

        let plane = 32 * 32, per = 3 * plane
        let pixels = [UInt8](unsafeUninitializedCapacity: m * per) { dst, initialized in
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let src = raw.bindMemory(to: UInt8.self).baseAddress! + header.dataOffset + first * per
                let out = dst.baseAddress!
                for i in 0..<m {
                    let s = src + i * per
                    let r = out + i * per, g = r + plane, b = g + plane
                    for p in 0..<plane {
                        r[p] = s[3 * p]
                        g[p] = s[3 * p + 1]
                        b[p] = s[3 * p + 2]
                    }
                }
            }
            initialized = m * per
        }
        return InMemoryImageDataset(pixels: pixels, labels: blockLabels, imageShape: imageShape, classes: classNames)
    }
}

import Foundation
import NSDEData

/// Writes corrupted sets in the CIFAR-10-C layout, readable by `CIFAR10C.load`.
///
/// For each corruption, `<name>.npy`: uint8, `[5·N, H, W, C]` (or `[5·N, H, W]` for a greyscale
/// input without a channel axis), severity s in rows `(s − 1)·N ..< s·N`; and `labels.npy`: the N
/// labels tiled 5 times, `[5·N]`, uint8 when all labels fit (as the release), else int64. Every
/// file is written atomically (``NumPy/write(_:to:version:)``: a temporary file renamed into
/// place), so a reader never sees a partial file.
///
/// `CIFAR10C.load` reads the 32×32 RGB files this writes for CIFAR-10 test images; other sizes and
/// greyscale are written in the same layout for other loaders.
public enum CIFAR10CWriter {
    /// Writes `<name>.npy` for each corruption, and `labels.npy` when `labels` is given, into
    /// `directory` (created if missing).
    ///
    /// - Parameters:
    ///   - batch: the N clean images.
    ///   - labels: N labels (≥ 0), or `nil` to write no `labels.npy`.
    ///   - corruptions: which corruptions (default: the 15 benchmark ones).
    ///   - seed: the seed of the random draws (image streams as in ``CorruptionBatch``).
    ///   - firstIndex: the index of the batch's first image in the whole set (default 0).
    ///   - directory: the output directory.
    ///   - threads: worker threads (the files do not depend on it).
    ///   - progress: called with each file's URL after it is written.
    /// - Returns: the files written, corruptions first, `labels.npy` last.
    /// - Throws: ``RobustnessError/badLabels(file:reason:)`` for a label count other than N or a
    ///   negative label; `DataError.ioFailure` when a file cannot be written; the directory's
    ///   creation error.
    @discardableResult
    public static func write(_ batch: CorruptionBatch, labels: [Int]?, corruptions: [any Corruption] = Corruptions.benchmark,
                             seed: UInt64, firstIndex: Int = 0, to directory: URL, threads: Int? = nil,
                             progress: ((URL) -> Void)? = nil) throws -> [URL] {
        let labelsURL = directory.appendingPathComponent("labels.npy")
        var labelArray: NumPyArray?
        if let labels {
            guard labels.count == batch.count else {
                throw RobustnessError.badLabels(file: labelsURL.path,
                                                reason: "\(labels.count) labels for \(batch.count) images (expected one per image)")
            }
            if let bad = labels.firstIndex(where: { $0 < 0 }) {
                throw RobustnessError.badLabels(file: labelsURL.path, reason: "label \(labels[bad]) at index \(bad) is negative")
            }
            let tiled = Array([[Int]](repeating: labels, count: 5).joined())
            labelArray = tiled.allSatisfy({ $0 <= 255 })
                ? NumPyArray(tiled.map { UInt8($0) }, shape: [tiled.count])
                : NumPyArray(tiled.map { Int64($0) }, shape: [tiled.count])
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written = [URL]()
        for corruption in corruptions {
            let url = directory.appendingPathComponent(corruption.name + ".npy")
            try NumPy.write(batch.allSeverities(by: corruption, seed: seed, firstIndex: firstIndex, threads: threads).numPyArray, to: url)
            written.append(url)
            progress?(url)
        }
        if let labelArray {
            try NumPy.write(labelArray, to: labelsURL)
            written.append(labelsURL)
            progress?(labelsURL)
        }
        return written
    }
}

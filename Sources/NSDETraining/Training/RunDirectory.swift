import Foundation
import NSDEData
import NSDEPlot
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The output directory of one training run (`nsde train --out DIR`): its lock, its checkpoint
/// and its metrics file.
///
/// A ``Trainer`` writes into a run directory only while holding its lock (``withLock(_:)``), so two
/// processes never write the same run; the checkpoint is replaced atomically after each epoch
/// (``Checkpoint/write(to:)``) and the metrics file gets one line per committed epoch.
///
/// Layout: `checkpoint.json`, `model.safetensors`, `optimizer.safetensors` (``Checkpoint``),
/// `metrics.jsonl` (one ``EpochMetrics`` object per line) and `.lock` (an empty file that the
/// writer `flock`s).
public struct RunDirectory: Sendable, Equatable {
    /// The directory (standardised).
    public let url: URL

    /// A run directory at `url`. Nothing is created until the first write or lock.
    public init(_ url: URL) { self.url = url.standardizedFileURL }

    /// The directory's path.
    public var path: String { url.path }

    /// `metrics.jsonl`.
    public var metricsURL: URL { url.appendingPathComponent(Checkpoint.metricsFileName) }

    /// `.lock`.
    public var lockURL: URL { url.appendingPathComponent(".lock") }

    /// Runs `body` holding an exclusive `flock` on `.lock` (the directory and the file are
    /// created if missing). The lock is released when `body` returns or throws, and by the
    /// operating system when the process dies.
    ///
    /// - Throws: ``TrainingError/directoryInUse(directory:)`` when another process holds it;
    ///   ``OutputError`` when the directory or the lock file cannot be created.
    public func withLock<R>(_ body: () throws -> R) throws -> R {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let fd = open(lockURL.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError.writeFailed(path: lockURL.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { throw TrainingError.directoryInUse(directory: path) }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Throws ``TrainingError/checkpointExists(directory:epoch:)`` when the directory already
    /// holds a checkpoint (readable or not): a new run must not overwrite it.
    public func requireNoCheckpoint() throws {
        if let existing = try? Checkpoint.readState(from: url) {
            throw TrainingError.checkpointExists(directory: path, epoch: existing.epoch)
        }
        if Checkpoint.exists(in: url) { throw TrainingError.checkpointExists(directory: path, epoch: 0) }
    }

    /// Replaces `metrics.jsonl` atomically with one line per epoch of `history` (after a crash
    /// the file may hold a cut line, or a line for an epoch that is redone).
    public func rewriteMetrics(_ history: [EpochMetrics]) throws {
        try AtomicFile.write(try history.map(Self.metricsLine).joined(), to: metricsURL)
    }

    /// Appends one epoch's line to `metrics.jsonl` with one `write(2)` in append mode, then
    /// `fsync`.
    public func appendMetrics(_ metrics: EpochMetrics) throws {
        let line = Array(try Self.metricsLine(metrics).utf8)
        let fd = open(metricsURL.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError.writeFailed(path: metricsURL.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw OutputError.writeFailed(path: metricsURL.path, reason: String(cString: strerror(errno)))
        }
        fsync(fd)
    }

    /// One `metrics.jsonl` line (with its newline): the metrics as JSON with sorted keys.
    static func metricsLine(_ metrics: EpochMetrics) throws -> String {
        String(decoding: try CheckpointCoding.lineEncoder.encode(metrics), as: UTF8.self) + "\n"
    }
}

extension DataFingerprint {
    /// The fingerprint of a run's training and test data (`test` `nil`: no test set).
    public init(train: InMemoryImageDataset, test: InMemoryImageDataset?) {
        self.init(trainExamples: train.count, trainDigest: Self.digest(train), testExamples: test?.count ?? 0,
                  testDigest: test.map(Self.digest) ?? FNV1a64.hex(FNV1a64.offset))
    }

    /// FNV-1a 64 of the pixels, then the labels (as little-endian Int64), then the shape.
    static func digest(_ dataset: InMemoryImageDataset) -> String {
        var h = FNV1a64.offset
        dataset.pixels.withUnsafeBytes { FNV1a64.update(&h, $0) }
        dataset.labels.map { Int64($0).littleEndian }.withUnsafeBytes { FNV1a64.update(&h, $0) }
        dataset.imageShape.map { Int64($0).littleEndian }.withUnsafeBytes { FNV1a64.update(&h, $0) }
        return FNV1a64.hex(h)
    }

    /// How `found` differs from this (stored) fingerprint, as one sentence naming the split, the
    /// example counts and the digests.
    public func difference(from found: DataFingerprint) -> String {
        if trainExamples != found.trainExamples || trainDigest != found.trainDigest {
            return "the training data differ from the checkpoint's (\(trainExamples) examples, digest \(trainDigest); "
                + "found \(found.trainExamples), digest \(found.trainDigest))"
        }
        return "the test data differ from the checkpoint's (\(testExamples) examples, digest \(testDigest); "
            + "found \(found.testExamples), digest \(found.testDigest))"
    }
}

import Foundation
import NSDEData
import NSDETensor

/// N 8-bit images of one size, `pixels: [count, height, width, channels]` (NHWC), to corrupt
/// together; the layout of CIFAR-10-C's `.npy` files.
///
/// Image i (0-based) is corrupted with its own generator,
/// ``CorruptionStreams/generator(seed:corruption:severity:index:)`` at index `firstIndex + i`, so
/// the result is the same whatever the thread count, and a set corrupted in pieces (with the
/// right `firstIndex` for each piece) equals the set corrupted whole.
public struct CorruptionBatch: Equatable, Sendable {
    /// Number of images.
    public let count: Int
    /// Rows per image.
    public let height: Int
    /// Columns per image.
    public let width: Int
    /// 1 (greyscale) or 3 (RGB).
    public let channels: Int
    /// Whether the `.npy` form has a channel axis: `[N, H, W, C]` (true) or `[N, H, W]` (false,
    /// greyscale only).
    public let hasChannelAxis: Bool
    /// `pixels: [count, height, width, channels]`.
    public var pixels: [UInt8]

    /// A batch from NHWC pixels.
    ///
    /// - Precondition: `count >= 0`, `height, width >= 1`, channels 1 or 3 (1 when
    ///   `hasChannelAxis` is false), `pixels.count == count * height * width * channels`.
    public init(count: Int, height: Int, width: Int, channels: Int, hasChannelAxis: Bool = true, pixels: [UInt8]) {
        precondition(count >= 0 && height >= 1 && width >= 1, "CorruptionBatch: bad size \(count)x\(height)x\(width)")
        precondition(channels == 1 || channels == 3, "CorruptionBatch: channels must be 1 or 3, got \(channels)")
        precondition(hasChannelAxis || channels == 1, "CorruptionBatch: only greyscale may lack a channel axis")
        precondition(pixels.count == count * height * width * channels, "CorruptionBatch: pixel count mismatch")
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.hasChannelAxis = hasChannelAxis
        self.pixels = pixels
    }

    /// A batch of `images`, which must all have the size and channels of the first.
    public init(images: [CorruptionImage]) {
        let first = images.first
        let (h, w, c) = (first?.height ?? 1, first?.width ?? 1, first?.channels ?? 3)
        precondition(images.allSatisfy { $0.height == h && $0.width == w && $0.channels == c },
                     "CorruptionBatch: images differ in size or channels")
        self.init(count: images.count, height: h, width: w, channels: c, pixels: images.flatMap(\.pixels))
    }

    /// The images of a uint8 `.npy` array of shape `[N, H, W, C]` (C = 1 or 3) or `[N, H, W]`.
    ///
    /// - Parameters:
    ///   - array: the array.
    ///   - file: its name, for errors.
    /// - Throws: ``RobustnessError/wrongElementType(file:found:)`` or
    ///   ``RobustnessError/unsupportedShape(file:shape:)``.
    public init(_ array: NumPyArray, file: String = "<memory>") throws(RobustnessError) {
        guard array.dtype == .uint8 else { throw .wrongElementType(file: file, found: array.dtype.description) }
        let s = array.shape
        let valid = (s.count == 4 && (s[3] == 1 || s[3] == 3)) || s.count == 3
        guard valid, s[0] >= 1, s[1] >= 1, s[2] >= 1 else { throw .unsupportedShape(file: file, shape: s) }
        self.init(count: s[0], height: s[1], width: s[2], channels: s.count == 4 ? s[3] : 1,
                  hasChannelAxis: s.count == 4, pixels: array.data)
    }

    /// Values per image.
    public var imageSize: Int { height * width * channels }

    /// The `.npy` shape: `[count, height, width, channels]`, or `[count, height, width]` without a
    /// channel axis.
    public var shape: [Int] { hasChannelAxis ? [count, height, width, channels] : [count, height, width] }

    /// The batch as a uint8 `.npy` array of ``shape``.
    public var numPyArray: NumPyArray { NumPyArray(dtype: .uint8, shape: shape, data: pixels) }

    /// Image `i`.
    public subscript(i: Int) -> CorruptionImage {
        CorruptionImage(height: height, width: width, channels: channels,
                        pixels: Array(pixels[i * imageSize ..< (i + 1) * imageSize]))
    }

    /// Every image corrupted by `corruption` at `severity`.
    ///
    /// - Parameters:
    ///   - corruption: the corruption.
    ///   - severity: 1...5.
    ///   - seed: the seed of the random draws.
    ///   - firstIndex: the index of this batch's first image in the whole set (default 0).
    ///   - threads: worker threads (default: all active processors); the result does not depend on it.
    /// - Returns: a batch of the same shape.
    /// - Throws: ``RobustnessError/severityOutOfRange(severity:valid:)``,
    ///   ``RobustnessError/indexOutOfRange(firstIndex:count:limit:)``.
    public func corrupted(by corruption: any Corruption, severity: Int, seed: UInt64, firstIndex: Int = 0,
                          threads: Int? = nil) throws(RobustnessError) -> CorruptionBatch {
        try Corruptions.validate(severity: severity)
        try validate(firstIndex: firstIndex)
        return corruptedUnchecked(by: corruption, severity: severity, seed: seed, firstIndex: firstIndex, threads: threads)
    }

    /// Checks that images `firstIndex ..< firstIndex + count` have random streams.
    ///
    /// - Throws: ``RobustnessError/indexOutOfRange(firstIndex:count:limit:)``.
    public func validate(firstIndex: Int) throws(RobustnessError) {
        let limit = CorruptionStreams.indexLimit
        guard firstIndex >= 0, firstIndex <= limit - count else {
            throw .indexOutOfRange(firstIndex: firstIndex, count: count, limit: limit)
        }
    }

    /// ``corrupted(by:severity:seed:firstIndex:threads:)`` for a severity already validated.
    private func corruptedUnchecked(by corruption: any Corruption, severity: Int, seed: UInt64, firstIndex: Int,
                                    threads: Int?) -> CorruptionBatch {
        var out = self
        let size = imageSize
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, max(count, 1)))
        let source = pixels
        out.pixels.withUnsafeMutableBufferPointer { destination in
            let base = SendablePointer(destination.baseAddress)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var i = worker
                while i < count {
                    let image = CorruptionImage(height: height, width: width, channels: channels,
                                                pixels: Array(source[i * size ..< (i + 1) * size]))
                    let result = corruption.apply(image, severity: severity, seed: seed, index: firstIndex + i)
                    result.pixels.withUnsafeBufferPointer { r in
                        (base.pointer! + i * size).update(from: r.baseAddress!, count: size)
                    }
                    i += workers
                }
            }
        }
        return out
    }

    /// The CIFAR-10-C block layout: the batch corrupted at severities 1...5, stacked (severity s
    /// in rows `(s − 1)·count ..< s·count`), shape `[5·count, …]`.
    ///
    /// - Parameters: as ``corrupted(by:severity:seed:firstIndex:threads:)``.
    /// - Throws: ``RobustnessError/indexOutOfRange(firstIndex:count:limit:)``.
    public func allSeverities(by corruption: any Corruption, seed: UInt64, firstIndex: Int = 0,
                              threads: Int? = nil) throws(RobustnessError) -> CorruptionBatch {
        try validate(firstIndex: firstIndex)
        var stacked = [UInt8]()
        stacked.reserveCapacity(5 * pixels.count)
        for s in Corruptions.severities {
            stacked += corruptedUnchecked(by: corruption, severity: s, seed: seed, firstIndex: firstIndex, threads: threads).pixels
        }
        return CorruptionBatch(count: 5 * count, height: height, width: width, channels: channels,
                               hasChannelAxis: hasChannelAxis, pixels: stacked)
    }
}

/// A raw pointer handed to the workers of `concurrentPerform`, each writing its own images.
private struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>?
    init(_ pointer: UnsafeMutablePointer<UInt8>?) { self.pointer = pointer }
}

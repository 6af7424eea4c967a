/// One 8-bit image for the corruptions: `pixels: [height, width, channels]` (HWC, row-major),
/// channels 1 (greyscale) or 3 (RGB), values 0...255.
public struct CorruptionImage: Equatable, Sendable {
    /// Rows.
    public let height: Int
    /// Columns.
    public let width: Int
    /// 1 (greyscale) or 3 (RGB).
    public let channels: Int
    /// `pixels: [height, width, channels]`, interleaved (HWC).
    public var pixels: [UInt8]

    /// An image from interleaved pixels.
    ///
    /// - Precondition: `height, width >= 1`, `channels` 1 or 3, `pixels.count == height * width * channels`.
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8]) {
        precondition(height >= 1 && width >= 1, "CorruptionImage: size must be positive, got \(height)x\(width)")
        precondition(channels == 1 || channels == 3, "CorruptionImage: channels must be 1 or 3, got \(channels)")
        precondition(pixels.count == height * width * channels,
                     "CorruptionImage: \(pixels.count) pixels for \(height)x\(width)x\(channels)")
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }

    /// An image from interleaved values in [0, 1] (clamped), rounded to the nearest of 0...255.
    public init(height: Int, width: Int, channels: Int, unitValues: [Float]) {
        self.init(height: height, width: width, channels: channels,
                  pixels: unitValues.map { UInt8((min(max($0, 0), 1) * 255).rounded()) })
    }

    /// The pixels divided by 255, interleaved (HWC).
    public var unitValues: [Float] { pixels.map { Float($0) / 255 } }

    /// The value at row `y`, column `x`, channel `c`.
    public subscript(y: Int, x: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// Mean of |self − other| over all values, in 0...255 units.
    ///
    /// - Precondition: same size and channels.
    public func meanAbsoluteDifference(to other: CorruptionImage) -> Double {
        precondition(height == other.height && width == other.width && channels == other.channels,
                     "meanAbsoluteDifference: sizes differ")
        var sum = 0
        for i in pixels.indices { sum += abs(Int(pixels[i]) - Int(other.pixels[i])) }
        return Double(sum) / Double(pixels.count)
    }
}

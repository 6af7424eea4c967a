import NSDETensor

/// Contrast: (x − m)·c + m on x/255, with m the spatial mean of each channel; clip; ×255;
/// truncate.
///
/// - Parameters: c = 0.75, 0.5, 0.4, 0.3, 0.15 for severities 1...5.
/// - Random: none.
/// - Greyscale, any size: per channel.
public struct Contrast: Corruption {
    /// c for severities 1...5.
    public static let parameters: [Double] = [0.75, 0.5, 0.4, 0.3, 0.15]

    public let name = "contrast"
    public let isRandom = false

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let c = Self.parameters[severity - 1]
        var x = FloatImage.unit(image)
        let n = x.height * x.width
        for ch in 0 ..< x.channels {
            var sum = 0.0
            for p in 0 ..< n { sum += x.values[p * x.channels + ch] }
            let mean = sum / Double(n)
            for p in 0 ..< n { x.values[p * x.channels + ch] = (x.values[p * x.channels + ch] - mean) * c + mean }
        }
        return x.quantizedFromUnit()
    }
}

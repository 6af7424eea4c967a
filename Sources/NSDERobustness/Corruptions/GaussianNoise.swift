import NSDETensor

/// Gaussian noise: x/255 + N(0, c²) per pixel and channel, clipped to [0, 1], ×255, truncated.
///
/// - Parameters: c (noise standard deviation on the 0–1 scale) = 0.04, 0.06, 0.08, 0.09, 0.10 for
///   severities 1...5.
/// - Random: one normal (``PhiloxGenerator/nextNormal()``) per value, in HWC order.
/// - Greyscale, any size: per value, as for each RGB channel.
public struct GaussianNoise: Corruption {
    /// c for severities 1...5.
    public static let parameters: [Double] = [0.04, 0.06, 0.08, 0.09, 0.10]

    public let name = "gaussian_noise"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let c = Self.parameters[severity - 1]
        var x = FloatImage.unit(image)
        for i in x.values.indices { x.values[i] += c * rng.normal() }
        return x.quantizedFromUnit()
    }
}

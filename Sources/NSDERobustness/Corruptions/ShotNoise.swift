import NSDETensor

/// Shot (Poisson) noise: Poisson(c·x/255)/c per pixel and channel, clipped to [0, 1], ×255,
/// truncated. The noise variance on the 0–1 scale is (x/255)/c.
///
/// - Parameters: c (photon scale) = 500, 250, 100, 75, 50 for severities 1...5.
/// - Random: one Poisson count per value, in HWC order (NumPy's samplers: multiplication for
///   λ < 10, PTRS above).
/// - Greyscale, any size: per value, as for each RGB channel.
public struct ShotNoise: Corruption {
    /// c for severities 1...5.
    public static let parameters: [Double] = [500, 250, 100, 75, 50]

    public let name = "shot_noise"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let c = Self.parameters[severity - 1]
        var x = FloatImage.unit(image)
        for i in x.values.indices { x.values[i] = Double(rng.poisson(x.values[i] * c)) / c }
        return x.quantizedFromUnit()
    }
}

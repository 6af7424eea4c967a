import NSDETensor

/// Impulse (salt-and-pepper) noise, scikit-image `random_noise(mode='s&p')`: each value (pixel ×
/// channel) is replaced with probability `amount`, by 1 (salt) or 0 (pepper) with equal odds;
/// ×255.
///
/// - Parameters: amount = 0.01, 0.02, 0.03, 0.05, 0.07 for severities 1...5.
/// - Random: per value in HWC order, a uniform (replace when < amount) and a uniform (salt when
///   < 0.5). scikit-image draws the replace mask for all values first, then the salt mask; the
///   distribution is the same.
/// - Greyscale, any size: per value.
public struct ImpulseNoise: Corruption {
    /// amount for severities 1...5.
    public static let parameters: [Double] = [0.01, 0.02, 0.03, 0.05, 0.07]

    public let name = "impulse_noise"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let amount = Self.parameters[severity - 1]
        var x = FloatImage.unit(image)
        for i in x.values.indices {
            let replace = rng.uniformDouble() < amount
            let salt = rng.uniformDouble() < 0.5
            if replace { x.values[i] = salt ? 1 : 0 }
        }
        return x.quantizedFromUnit()
    }
}

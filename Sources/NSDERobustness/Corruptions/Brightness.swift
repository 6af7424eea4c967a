import NSDETensor

/// Brightness: in scikit-image's HSV (``HSV``), V ← clip(V + c, 0, 1); back to RGB; clip; ×255;
/// truncate.
///
/// - Parameters: c = 0.05, 0.1, 0.15, 0.2, 0.3 for severities 1...5.
/// - Random: none.
/// - Greyscale: a grey pixel has H = S = 0 and V = x, so the result is clip(x + c, 0, 1), which is
///   what the HSV round trip gives for the same grey value replicated to RGB. Any size.
public struct Brightness: Corruption {
    /// c for severities 1...5.
    public static let parameters: [Double] = [0.05, 0.1, 0.15, 0.2, 0.3]

    public let name = "brightness"
    public let isRandom = false

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let c = Self.parameters[severity - 1]
        var x = FloatImage.unit(image)
        if x.channels == 1 {
            for i in x.values.indices { x.values[i] = min(max(x.values[i] + c, 0), 1) }
        } else {
            for p in 0 ..< x.height * x.width {
                let (h, s, v) = HSV.fromRGB(x.values[3 * p], x.values[3 * p + 1], x.values[3 * p + 2])
                let (r, g, b) = HSV.toRGB(h, s, min(max(v + c, 0), 1))
                x.values[3 * p] = r
                x.values[3 * p + 1] = g
                x.values[3 * p + 2] = b
            }
        }
        return x.quantizedFromUnit()
    }
}

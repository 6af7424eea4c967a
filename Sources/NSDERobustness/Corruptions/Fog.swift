import NSDETensor

/// Fog: a plasma fractal added to the image, then rescaled.
///
/// 1. On x/255, let M be the maximum over the whole image (all channels).
/// 2. x += t·P, with one plasma map P (``PlasmaFractal``, decay as given) for all channels.
/// 3. x ← x·M/(M + t); clip; ×255; truncate.
///
/// - Parameters: (strength t, wibble decay) = (0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)
///   for severities 1...5.
/// - Random: the plasma draws (``PlasmaFractal``).
/// - Greyscale: as one channel. Any size: the map's side is the smallest power of two ≥ max(H, W)
///   (32 for CIFAR), cropped to H×W from its top-left corner, as the release crops `[:32, :32]`.
public struct Fog: Corruption {
    /// (t, decay) for severities 1...5.
    public static let parameters: [(strength: Double, decay: Double)] =
        [(0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)]

    public let name = "fog"
    public let isRandom = true

    public init() {}

    /// The plasma map's side for an image of `height` x `width`.
    static func mapSide(height: Int, width: Int) -> Int {
        var side = 2
        while side < max(height, width) { side *= 2 }
        return side
    }

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let (t, decay) = Self.parameters[severity - 1]
        let side = Self.mapSide(height: image.height, width: image.width)
        let plasma = PlasmaFractal.generate(side: side, decay: decay, rng: &rng)
        var x = FloatImage.unit(image)
        let m = x.values.max() ?? 0
        for y in 0 ..< x.height {
            for xx in 0 ..< x.width {
                for ch in 0 ..< x.channels {
                    x[y, xx, ch] = (x[y, xx, ch] + t * plasma[y * side + xx]) * m / (m + t)
                }
            }
        }
        return x.quantizedFromUnit()
    }
}

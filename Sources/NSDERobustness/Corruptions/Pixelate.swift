import NSDETensor

/// Pixelate: Pillow BOX resize (``BoxResample``) to int(W·c) × int(H·c), then back to W × H with
/// BOX; 8-bit throughout.
///
/// - Parameters: size factor c = 0.95, 0.9, 0.85, 0.75, 0.65 for severities 1...5 (30, 28, 27,
///   24, 20 px at 32).
/// - Random: none.
/// - Greyscale, any size: per channel; sizes relative to the image (at least 1 px).
public struct Pixelate: Corruption {
    /// c for severities 1...5.
    public static let parameters: [Double] = [0.95, 0.9, 0.85, 0.75, 0.65]

    public let name = "pixelate"
    public let isRandom = false

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let c = Self.parameters[severity - 1]
        let small = BoxResample.resize(image, height: max(1, Int(Double(image.height) * c)),
                                       width: max(1, Int(Double(image.width) * c)))
        return BoxResample.resize(small, height: image.height, width: image.width)
    }
}

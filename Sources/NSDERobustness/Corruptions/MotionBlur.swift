import NSDETensor

/// Motion blur: ImageMagick's one-sided motion blur (``MotionBlurKernel``) of the 8-bit image at
/// an angle θ ~ U(−45°, 45°) drawn per image; the result is 8-bit.
///
/// - Parameters: (IM radius, IM σ) = (6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5) for severities
///   1...5 (kernel lengths 13, 13, 13, 17, 19).
/// - Random: one uniform (θ).
/// - Greyscale, any size: per channel; the kernel is in pixels whatever the size.
public struct MotionBlur: Corruption {
    /// (radius, σ) for severities 1...5.
    public static let parameters: [(radius: Double, sigma: Double)] = [(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)]

    public let name = "motion_blur"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let (radius, sigma) = Self.parameters[severity - 1]
        let angle = rng.uniform(-45, 45)
        return MotionBlurKernel(radius: radius, sigma: sigma, angleDegrees: angle).apply(image)
    }
}

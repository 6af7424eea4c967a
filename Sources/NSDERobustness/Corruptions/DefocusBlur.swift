import NSDETensor

/// Defocus blur: each channel of x/255 correlated (OpenCV `filter2D`, border reflect-101) with an
/// anti-aliased disk (``DiskKernel``); clipped, ×255, truncated.
///
/// - Parameters: (disk radius, anti-alias σ) in pixels = (0.3, 0.4), (0.4, 0.5), (0.5, 0.6),
///   (1, 0.2), (1.5, 0.1) for severities 1...5: separable 3×3 Gaussians, a 5-pixel plus, a 3×3 box.
/// - Random: none.
/// - Greyscale, any size: per channel; the kernel is in pixels whatever the size.
public struct DefocusBlur: Corruption {
    /// (radius, alias σ) for severities 1...5.
    public static let parameters: [(radius: Double, aliasSigma: Double)] =
        [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)]
    private static let kernels = parameters.map { DiskKernel(radius: $0.radius, aliasSigma: $0.aliasSigma) }

    public let name = "defocus_blur"
    public let isRandom = false

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        return Self.kernels[severity - 1].correlate(FloatImage.unit(image)).quantizedFromUnit()
    }
}

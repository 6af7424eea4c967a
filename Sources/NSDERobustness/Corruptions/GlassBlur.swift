import NSDETensor

/// Glass blur: Gaussian blur, local pixel shuffling, Gaussian blur.
///
/// 1. Gaussian filter σ (scikit-image `gaussian`: truncate 4, border nearest) on x/255; ×255;
///    truncate to 8 bits.
/// 2. `iterations` times: for rows h = H − d down to d + 1, and within a row columns w = W − d
///    down to d + 1, draw dx then dy uniformly from {−d, …, d − 1} and copy pixel (h + dy, w + dx)
///    into (h, w). (The release means to swap the two, but NumPy view semantics make it a copy
///    that leaves the source unchanged; this follows the release, in place and in order.)
/// 3. Gaussian filter σ on the result /255; clip; ×255; truncate.
///
/// - Parameters: (σ px, max delta d, iterations) = (0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1),
///   (0.25, 1, 2), (0.4, 1, 2) for severities 1...5 (σ = 0.05 has radius 0: the identity).
/// - Random: two integers per visited pixel, in visiting order.
/// - Greyscale, any size: pixels (all channels together) are copied; loops scale with the size.
/// - Note: the severities are the release's; on finely detailed images severity 5 (σ 0.4) can
///   change an image slightly less than severity 4 (σ 0.25), as the wider final blur averages out
///   part of the shuffling.
public struct GlassBlur: Corruption {
    /// (σ, d, iterations) for severities 1...5.
    public static let parameters: [(sigma: Double, delta: Int, iterations: Int)] =
        [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)]

    public let name = "glass_blur"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let (sigma, d, iterations) = Self.parameters[severity - 1]
        let blurred = GaussianFilter.apply(FloatImage.unit(image), sigma: sigma)
        var pixels = blurred.values.map { FloatImage.truncate($0 * 255) }
        let h = image.height, w = image.width, c = image.channels
        for _ in 0 ..< iterations {
            var row = h - d
            while row >= d + 1 {
                var col = w - d
                while col >= d + 1 {
                    let dx = rng.integer(-d, d)
                    let dy = rng.integer(-d, d)
                    let source = ((row + dy) * w + col + dx) * c, target = (row * w + col) * c
                    for ch in 0 ..< c { pixels[target + ch] = pixels[source + ch] }
                    col -= 1
                }
                row -= 1
            }
        }
        let shuffled = CorruptionImage(height: h, width: w, channels: c, pixels: pixels)
        return GaussianFilter.apply(FloatImage.unit(shuffled), sigma: sigma).quantizedFromUnit()
    }
}

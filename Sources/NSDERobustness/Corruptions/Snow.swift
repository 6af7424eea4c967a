import NSDETensor

/// Snow: a zoomed, thresholded, motion-blurred noise layer added twice (once rotated by 180°) to a
/// brightened image.
///
/// 1. L = N(μ, s²), one value per pixel (`[height, width]`).
/// 2. L = clipped_zoom(L, z) (``ClippedZoom``); entries below the threshold set to 0.
/// 3. L = truncate(clip(L, 0, 1)·255) (an 8-bit grey image).
/// 4. ImageMagick motion blur (``MotionBlurKernel``) with (blur radius, blur σ) at θ ~ U(−135°,
///    −45°); L /= 255.
/// 5. x ← w·x + (1 − w)·max(x, 1.5·Y + 0.5) on x/255, Y = 0.299 R + 0.587 G + 0.114 B.
/// 6. Output = clip(x + L + rot180(L), 0, 1)·255, truncated; L is added to every channel.
///
/// - Parameters: (μ, s, z, threshold, blur radius, blur σ, w) = (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
///   (0.1, 0.2, 1, 0.5, 10, 4, 0.9), (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
///   (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85), (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8) for severities 1...5.
/// - Random: the layer's normals (row-major), then θ.
/// - Greyscale: Y = x (the grey conversion of a grey pixel). Any size: the layer has the image's
///   size; the blur is in pixels.
public struct Snow: Corruption {
    /// The parameter tuples for severities 1...5.
    public static let parameters: [(mean: Double, std: Double, zoom: Double, threshold: Double,
                                    blurRadius: Double, blurSigma: Double, imageWeight: Double)] = [
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ]

    public let name = "snow"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let p = Self.parameters[severity - 1]
        let h = image.height, w = image.width, c = image.channels
        var layer = FloatImage(height: h, width: w, channels: 1)
        for i in layer.values.indices { layer.values[i] = p.mean + p.std * rng.normal() }
        layer = ClippedZoom.apply(layer, zoom: p.zoom)
        for i in layer.values.indices where layer.values[i] < p.threshold { layer.values[i] = 0 }
        let layer8 = layer.quantizedFromUnit()
        let angle = rng.uniform(-135, -45)
        let blurred = MotionBlurKernel(radius: p.blurRadius, sigma: p.blurSigma, angleDegrees: angle).apply(layer8)
        let snow = FloatImage.unit(blurred)

        var x = FloatImage.unit(image)
        for y in 0 ..< h {
            for xx in 0 ..< w {
                let grey = c == 3 ? 0.299 * x[y, xx, 0] + 0.587 * x[y, xx, 1] + 0.114 * x[y, xx, 2] : x[y, xx, 0]
                let flake = snow[y, xx, 0] + snow[h - 1 - y, w - 1 - xx, 0]
                for ch in 0 ..< c {
                    let v = x[y, xx, ch]
                    let mixed = p.imageWeight * v + (1 - p.imageWeight) * max(v, 1.5 * grey + 0.5)
                    x[y, xx, ch] = mixed + flake
                }
            }
        }
        return x.quantizedFromUnit()
    }
}

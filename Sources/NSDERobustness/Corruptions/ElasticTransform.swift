import NSDETensor

/// Elastic transform: a random affine warp, then a smooth random displacement field.
///
/// On x/255:
/// 1. Affine: source points (x, y) = (cx + q, cy + q), (cx + q, cy − q), (cx − q, cy − q) with
///    (cx, cy) = (W div 2, H div 2) and q = max(1, min(H, W) div 3) — (26, 26), (26, 6), (6, 6) at 32 px;
///    destination = source + U(−j, j) per coordinate; M = `getAffineTransform`, applied with
///    OpenCV `warpAffine` (bilinear, 1/32-pixel positions, border reflect-101; ``AffineTransform``).
/// 2. Displacements: dx = α·G_σ(U(−1, 1) per pixel), then dy the same way, with G_σ scipy's
///    Gaussian filter, radius int(3σ + 0.5), half-sample symmetric ('reflect') border.
/// 3. Output(i, j, c) = bilinear sample at row i + dy, column j + dx (``DisplacementSampler``);
///    clip; ×255; truncate.
///
/// - Parameters: (α, σ, j) = S·(0, 0, 0.08), S·(0.05, 0.2, 0.07), S·(0.08, 0.06, 0.06),
///   S·(0.1, 0.04, 0.05), S·(0.1, 0.03, 0.03) pixels for severities 1...5, with S = min(H, W)
///   (32 for CIFAR: (0, 0, 2.56), (1.6, 6.4, 2.24), (2.56, 1.92, 1.92), (3.2, 1.28, 1.6),
///   (3.2, 0.96, 0.96)). Severity 1 is affine only.
/// - Random: the 6 jitters (point by point, x before y), the dx field's uniforms (row-major),
///   the dy field's.
/// - Greyscale: as one channel; all channels share the warp.
public struct ElasticTransform: Corruption {
    /// (α, σ, j) as fractions of the image size S for severities 1...5.
    public static let parameters: [(alpha: Double, sigma: Double, jitter: Double)] =
        [(0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)]

    public let name = "elastic_transform"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let h = image.height, w = image.width
        let size = Double(min(h, w))
        let p = Self.parameters[severity - 1]
        let alpha = size * p.alpha, sigma = size * p.sigma, jitter = size * p.jitter

        let cx = Double(w / 2), cy = Double(h / 2), q = Double(max(1, min(h, w) / 3))
        let source = [(cx + q, cy + q), (cx + q, cy - q), (cx - q, cy - q)]
        let destination = source.map { point -> (Double, Double) in
            let dx = rng.uniform(-jitter, jitter)
            let dy = rng.uniform(-jitter, jitter)
            return (point.0 + dx, point.1 + dy)
        }
        let warped = AffineTransform(from: source, to: destination).warp(FloatImage.unit(image))

        func field() -> [Double] {
            var noise = FloatImage(height: h, width: w, channels: 1)
            for i in noise.values.indices { noise.values[i] = rng.uniform(-1, 1) }
            return GaussianFilter.apply(noise, sigma: sigma, truncate: 3, boundary: .reflect).values.map { $0 * alpha }
        }
        let dx = field()
        let dy = field()
        return DisplacementSampler.sample(warped, dx: dx, dy: dy).quantizedFromUnit()
    }
}

import NSDETensor

/// Frost: output = clip(a·x + b·F, 0, 255) on the 0...255 scale, truncated, where F is a random
/// crop of a frost texture.
///
/// The release picks one of five photographs uniformly, resizes it by 0.2 and crops 32×32 at a
/// uniformly random position (top in [0, H_F − 32), left in [0, W_F − 32)). This project uses
/// five procedurally generated textures of the same sizes instead (``FrostTexture``; a documented
/// departure: no third-party photographs are shipped), and follows the rest exactly.
///
/// - Parameters: (image weight a, frost weight b) = (1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4),
///   (0.75, 0.45) for severities 1...5.
/// - Random: the texture index in 0...4, then the top, then the left offset.
/// - Greyscale: the texture is converted with Y = 0.299 R + 0.587 G + 0.114 B. Any size: the
///   textures grow with the image (``FrostTexture/size(index:height:width:)``).
public struct Frost: Corruption {
    /// (a, b) for severities 1...5.
    public static let parameters: [(imageWeight: Double, frostWeight: Double)] =
        [(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)]

    public let name = "frost"
    public let isRandom = true

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let (a, b) = Self.parameters[severity - 1]
        let h = image.height, w = image.width, c = image.channels
        let index = rng.integer(0, FrostTexture.baseSizes.count)
        let texture = FrostTexture.texture(index: index, height: h, width: w)
        let top = rng.integer(0, texture.height - h)
        let left = rng.integer(0, texture.width - w)
        var x = FloatImage(image)
        for y in 0 ..< h {
            for xx in 0 ..< w {
                let r = texture[top + y, left + xx, 0], g = texture[top + y, left + xx, 1], bl = texture[top + y, left + xx, 2]
                for ch in 0 ..< c {
                    let f = c == 3 ? (ch == 0 ? r : ch == 1 ? g : bl) : 0.299 * r + 0.587 * g + 0.114 * bl
                    x[y, xx, ch] = min(max(a * x[y, xx, ch] + b * f, 0), 255)
                }
            }
        }
        return x.quantized255()
    }
}

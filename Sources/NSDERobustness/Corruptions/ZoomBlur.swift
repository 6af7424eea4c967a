import NSDETensor

/// Zoom blur: the mean of the image and its zoomed copies, (x + Σ_z clipped_zoom(x, z)) / (n + 1)
/// on x/255 in float32 as the release (``ClippedZoom``); clipped, ×255, truncated.
///
/// - Parameters: the factors of NumPy's `arange(1, stop, 0.01)` with stop = 1.06, 1.11, 1.16,
///   1.21, 1.26 for severities 1...5: element k is 1 + k·δ with δ = (1 + 0.01) − 1 in `Double`,
///   and the count is ceil((stop − 1)/0.01): 7, 12, 16, 21 and 26 factors (the first two lists
///   include 1.06 and 1.11 through rounding).
/// - Random: none.
/// - Greyscale, any size: per channel; the crop and resize work per axis.
public struct ZoomBlur: Corruption {
    /// The exclusive `arange` ends for severities 1...5.
    public static let stops: [Double] = [1.06, 1.11, 1.16, 1.21, 1.26]

    /// The zoom factors of severity `severity` (1...5).
    public static func factors(severity: Int) -> [Double] {
        let stop = stops[severity - 1]
        let step = 0.01
        let count = Int(((stop - 1) / step).rounded(.up))
        let delta = (1 + step) - 1
        return (0 ..< count).map { 1 + Double($0) * delta }
    }

    public let name = "zoom_blur"
    public let isRandom = false

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        let factors = Self.factors(severity: severity)
        // In float32, as the release: x = float32(x / 255); each zoom is computed in Double from
        // it and stored as float32; the sum and the mean are float32, and so is ×255 before the
        // truncation to 8 bits.
        let x32 = image.pixels.map { Float(Double($0) / 255) }
        let x = FloatImage(height: image.height, width: image.width, channels: image.channels, values: x32.map(Double.init))
        var sum = [Float](repeating: 0, count: x32.count)
        for z in factors {
            let zoomed = ClippedZoom.apply(x, zoom: z)
            for i in sum.indices { sum[i] += Float(zoomed.values[i]) }
        }
        let n = Float(factors.count + 1)
        let pixels = x32.indices.map { i -> UInt8 in
            let v = (x32[i] + sum[i]) / n
            return FloatImage.truncate(Double(min(max(v, 0), 1) * 255))
        }
        return CorruptionImage(height: image.height, width: image.width, channels: image.channels, pixels: pixels)
    }
}

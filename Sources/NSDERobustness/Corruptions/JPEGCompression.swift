import NSDETensor

/// JPEG compression: encode with libjpeg at quality q (Pillow's settings: baseline, standard
/// tables scaled by q, 4:2:0 chroma subsampling) and decode again (``JPEGCodec``).
///
/// - Parameters: q = 80, 65, 58, 50, 40 for severities 1...5.
/// - Random: none.
/// - Greyscale: encoded as a one-component JPEG (Pillow's mode "L"). Any size.
public struct JPEGCompression: Corruption {
    /// Quality for severities 1...5.
    public static let parameters: [Int] = [80, 65, 58, 50, 40]

    public let name = "jpeg_compression"
    public let isRandom = false

    public init() {}

    public func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage {
        checkSeverity(severity)
        do {
            return try JPEGCodec.roundTrip(image, quality: Self.parameters[severity - 1])
        } catch {
            // Only an allocation failure inside libjpeg can end here for a valid image.
            preconditionFailure("jpeg_compression: \(error)")
        }
    }
}
